"""Deterministic sample data in every source's real layout, so the pipeline runs offline.

Import-light on purpose: :func:`write_sample` loads its modules on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_sample(out: str | Path, seed: int = 0, *, scale: int = 1) -> dict[str, Any]:
    """Write the sample archives under ``out``; return the manifest. See :mod:`.writer`."""
    from hqseg.sample.writer import write_sample as _write

    return _write(out, seed, scale=scale)
