"""One stage's section of params.yaml, read by :mod:`hqseg.utils.params_yaml` (the one
reader); its errors end the stage with that reader's one line, not a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hqseg.utils.params_yaml import PARAMS_FILE, ParamsError, read_section

__all__ = ["PARAMS_FILE", "section"]


def section(
    name: str, path: Path = PARAMS_FILE, *, known: Iterable[str] | None = None
) -> dict[str, Any]:
    """``params.yaml[name]`` (keys outside ``known`` refused); exits with ``error: ...``."""
    try:
        return read_section(name, path, known=known)
    except ParamsError as exc:
        raise SystemExit(f"error: {exc}") from None
