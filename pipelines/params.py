"""Read one stage's section of params.yaml (each stage reads only its own section)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hqseg.utils import params_yaml

PARAMS_FILE = Path("params.yaml")


def section(name: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Return ``params.yaml[name]``; a missing section is a clear error."""
    params = params_yaml.load(path.read_text()) or {}
    if name not in params:
        raise SystemExit(f"params.yaml has no '{name}' section")
    return params[name]
