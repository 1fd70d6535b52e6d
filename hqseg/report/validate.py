"""Checks of a results folder's values before the report uses them.

Every score the report reads is in percent (:mod:`hqseg.metrics.units`), so each must
be a finite number in [0, 100] (COCO's "undefined", -1, aside): a NaN would sort and
compare as a tie, a string would fail deep inside pandas, and 1e9 would be printed as
an IoU. Each problem is one :class:`ResultsError` naming the file and the entry.

* metrics JSON: ``"unit"`` absent (older results) or ``"percent"``; a file in another
  unit (``"fraction"``) is refused rather than shown 100 times too small;
* ``hq/metrics.json``: ``{benchmark: {model: {"mIoU", "mBIoU": percent, "n": count}}}``;
* ``coco/metrics.json``: ``{model: {"segm", "boundary": {stat: percent or -1}}}`` plus
  its ``"setup"`` entry (not a score);
* ``hq/per_image.csv``: ``iou_pct`` and ``biou_pct`` numbers in [0, 100].
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from hqseg.errors import HqsegError
from hqseg.metrics.units import UNIT, UNIT_KEY

#: COCO's "undefined" statistic (no ground truth of that size), kept as -1.
UNDEFINED = -1.0
_NOT_SCORES = ("setup",)


class ResultsError(HqsegError):
    """A results folder or git revision is missing or unreadable."""


def check_unit(data: Any, path: Path) -> None:
    """A metrics file must be a JSON object in percent (or say no unit, as older ones)."""
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object, got {type(data).__name__}")
    unit = data.get(UNIT_KEY, UNIT)
    if unit != UNIT:
        raise ResultsError(
            f"{path}: scores in unit {unit!r} are not supported; results are read in "
            f"{UNIT!r} (0..100) as `hqseg eval` writes them"
        )


def _score(value: Any, where: str, *, undefined_ok: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (0.0 <= value <= 100.0 or (undefined_ok and value == UNDEFINED)):
        return
    raise ResultsError(f"{where}: expected a score in percent (0..100), got {value!r:.60}")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ResultsError(f"{where}: expected a JSON object, got {value!r:.60}")
    return value


def check_hq_metrics(data: dict, path: Path) -> None:
    """``{benchmark: {model: {mIoU, mBIoU, n}}}``: scores in percent, ``n`` a count."""
    for bench, models in data.items():
        for model, metrics in _mapping(models, f"{path}: {bench}").items():
            where = f"{path}: {bench}.{model}"
            for key, value in _mapping(metrics, where).items():
                if key == "n":
                    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                        raise ResultsError(f"{where}.n: expected a count, got {value!r:.60}")
                else:
                    _score(value, f"{where}.{key}")


def check_coco_metrics(data: dict, path: Path) -> None:
    """``{model: {kind: {stat: percent or -1}}}`` (the ``setup`` entry is not scores)."""
    for model, kinds in data.items():
        if model in _NOT_SCORES:
            continue
        missing = {"segm", "boundary"} - set(_mapping(kinds, f"{path}: {model}"))
        if missing:
            raise ResultsError(f"{path}: {model} lacks {', '.join(sorted(missing))}")
        for kind, stats in kinds.items():
            where = f"{path}: {model}.{kind}"
            for stat, value in _mapping(stats, where).items():
                _score(value, f"{where}.{stat}", undefined_ok=True)


def check_per_image(table: pd.DataFrame, path: Path) -> None:
    """``iou_pct`` / ``biou_pct``: numbers in [0, 100], naming the first bad row."""
    for col in ("iou_pct", "biou_pct"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = ~values.between(0.0, 100.0)  # NaN (a string cell, or nan) is outside too
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ResultsError(
                f"{path}: row {row + 2} ({table['id'].iloc[row]}): {col} must be a score in "
                f"percent (0..100), got {table[col].iloc[row]!r:.60}"
            )
