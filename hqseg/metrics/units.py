"""The one unit of every written or printed score: percent (the paper's unit).

Pure metric functions (:mod:`hqseg.metrics`, :func:`.protocol.score_masks`) return
fractions in [0, 1]; everything that leaves the program (CSV columns, metrics JSON,
printed tables, plots, the report) is in percent, converted here and only here.

* per-image columns carry the unit in their name: ``iou_pct``, ``biou_pct``;
* metrics JSON files carry ``"unit": "percent"`` at the top level;
* COCO's "undefined" stat (-1) stays -1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNIT = "percent"
UNIT_KEY = "unit"
PCT_SUFFIX = "_pct"


def to_percent(fraction: float) -> float:
    """A fraction in [0, 1] -> percent."""
    return float(fraction) * 100.0


def stats_to_percent(stats: Mapping[str, float]) -> dict[str, float]:
    """COCOeval stats (fractions, or -1 for undefined) -> percent, -1 kept."""
    return {k: (to_percent(v) if v >= 0 else -1.0) for k, v in stats.items()}


def pct_column(metric: str) -> str:
    """``"iou"`` -> ``"iou_pct"``: the name of a per-image column in percent."""
    return f"{metric}{PCT_SUFFIX}"


def with_unit(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A metrics mapping with the ``"unit": "percent"`` key first (for JSON files)."""
    return {UNIT_KEY: UNIT, **{k: v for k, v in metrics.items() if k != UNIT_KEY}}


def without_unit(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a metrics mapping other than its ``"unit"`` key."""
    return {k: v for k, v in metrics.items() if k != UNIT_KEY}


def per_image_in_percent(table):
    """A per-image DataFrame with ``iou_pct`` / ``biou_pct``: a table written before the
    percent columns existed (``iou`` / ``biou`` as fractions) is converted; others pass."""
    table = table.copy()
    for metric in ("iou", "biou"):
        col = pct_column(metric)
        if col not in table.columns and metric in table.columns:
            table[col] = table.pop(metric) * 100.0
    return table
