"""Paired comparisons of per-image metrics: mean differences, bootstrap CIs, win/loss counts.

Two per-image tables (columns ``id``, ``benchmark``, ``model``, ``iou_pct``,
``biou_pct``, in percent) are paired on (benchmark, id); differences are ``b - a`` in
percentage points (positive: ``b`` is better).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hqseg.metrics.units import pct_column

METRICS = (pct_column("iou"), pct_column("biou"))
"""The paired per-image metrics, in percent."""

N_RESAMPLES = 2000
TIE_TOLERANCE = 1e-9


def bootstrap_ci(
    diffs: np.ndarray, *, n_resamples: int = N_RESAMPLES, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``diffs`` (resampling images with replacement).

    Deterministic for a given seed. An empty input gives (nan, nan); one value gives
    (value, value).
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_resamples, d.size))
    means = d[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def win_loss_tie(diffs: np.ndarray, tol: float = TIE_TOLERANCE) -> tuple[int, int, int]:
    """Counts of images where b beats a (diff > tol), loses (diff < -tol), or ties."""
    d = np.asarray(diffs, dtype=np.float64)
    wins = int((d > tol).sum())
    losses = int((d < -tol).sum())
    return wins, losses, int(d.size - wins - losses)


def pair_tables(a: pd.DataFrame, b: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Inner-join two per-image tables (one model each) on (benchmark, id).

    Returns:
        columns ``benchmark, id, <m>_a, <m>_b, <m>_diff`` for each metric ``m``.
    """
    keep = ["benchmark", "id", *metrics]
    merged = a[keep].merge(b[keep], on=["benchmark", "id"], suffixes=("_a", "_b"))
    for m in metrics:
        merged[f"{m}_diff"] = merged[f"{m}_b"] - merged[f"{m}_a"]
    return merged.sort_values(["benchmark", "id"], ignore_index=True)


def paired_summary(
    paired: pd.DataFrame,
    metrics=METRICS,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Per benchmark (and ``all``) and metric: n, mean diff, 95% CI, wins, losses, ties.

    Differences are in percentage points (the tables are in percent).
    """
    rows = []
    groups = [(bench, grp) for bench, grp in paired.groupby("benchmark", sort=True)]
    if len(groups) > 1:
        groups.append(("all", paired))
    for bench, grp in groups:
        for m in metrics:
            d = grp[f"{m}_diff"].to_numpy()
            lo, hi = bootstrap_ci(d, n_resamples=n_resamples, seed=seed)
            wins, losses, ties = win_loss_tie(d)
            rows.append(
                {
                    "benchmark": bench,
                    "metric": m,
                    "n": int(d.size),
                    "mean_diff": float(d.mean()) if d.size else float("nan"),
                    "ci_low": lo,
                    "ci_high": hi,
                    "wins": wins,
                    "losses": losses,
                    "ties": ties,
                }
            )
    return pd.DataFrame(rows)
