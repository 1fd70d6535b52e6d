"""The run's logged metrics, keyed by optimiser step, saved inside every checkpoint.

Rows are ``{step: {name: value}}`` with names such as ``train/loss`` or
``val/mIoU``; logging the same step again replaces values instead of adding a
row. Because the history travels inside the checkpoint (one atomic write), a
resumed run continues from exactly the rows that belong to its checkpoint: rows
of an interrupted tail are dropped, and work redone after the checkpoint (steps,
a validation cut short by a kill) logs its rows once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class History:
    """Metric rows by step. ``state()`` is weights_only-safe (ints, strs, floats)."""

    def __init__(self, rows: dict[int, dict[str, float]] | None = None) -> None:
        self.rows: dict[int, dict[str, float]] = {
            int(step): {str(k): float(v) for k, v in values.items()}
            for step, values in (rows or {}).items()
        }

    def log(self, step: int, values: dict[str, float]) -> None:
        """Set ``values`` at ``step`` (replacing earlier values of the same names)."""
        self.rows.setdefault(int(step), {}).update({k: float(v) for k, v in values.items()})

    def has(self, step: int, prefix: str) -> bool:
        """Whether ``step`` has any metric whose name starts with ``prefix``."""
        return any(k.startswith(prefix) for k in self.rows.get(int(step), {}))

    def names(self) -> list[str]:
        return sorted({k for values in self.rows.values() for k in values})

    def series(self, name: str) -> list[tuple[int, float]]:
        """(step, value) of one metric, by step."""
        return [(s, v[name]) for s, v in sorted(self.rows.items()) if name in v]

    def at(self, step: int, prefix: str) -> dict[str, float] | None:
        """The metrics of ``step`` under ``prefix`` with the prefix removed, or None."""
        values = self.rows.get(int(step), {})
        found = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        return found or None

    def last_step(self, prefix: str) -> int | None:
        steps = [s for s in self.rows if self.has(s, prefix)]
        return max(steps) if steps else None

    def latest(self) -> dict[str, float]:
        """The newest value of every metric."""
        out: dict[str, float] = {}
        for _, values in sorted(self.rows.items()):
            out.update(values)
        return out

    def state(self) -> dict[int, dict[str, float]]:
        return {s: dict(v) for s, v in sorted(self.rows.items())}

    @classmethod
    def from_state(cls, state: dict[Any, dict[str, float]] | None) -> History:
        return cls(state or {})


def finite_or_null(obj: Any, path: str = "", notes: list[str] | None = None):
    """``obj`` with every non-finite float replaced by None; each replacement noted.

    Returns (clean object, notes), notes like ``"val_after.mIoU was nan"``, so a
    JSON file can hold ``null`` plus the reason instead of a bare ``NaN``.
    """
    notes = [] if notes is None else notes
    if isinstance(obj, float) and not math.isfinite(obj):
        notes.append(f"{path or 'value'} was {obj}")
        return None, notes
    if isinstance(obj, dict):
        return {
            k: finite_or_null(v, f"{path}.{k}" if path else str(k), notes)[0]
            for k, v in obj.items()
        }, notes
    if isinstance(obj, list | tuple):
        return [finite_or_null(v, f"{path}[{i}]", notes)[0] for i, v in enumerate(obj)], notes
    return obj, notes


def all_finite(values: Iterable[float]) -> bool:
    return all(math.isfinite(v) for v in values)
