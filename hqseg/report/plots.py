"""Report plots: per-benchmark bars (SAM vs HQ-SAM) and a per-image IoU scatter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_LABELS = {"sam": "SAM", "hq_sam": "HQ-SAM"}
COLOURS = {"sam": "#8c8c8c", "hq_sam": "#d1495b"}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    from hqseg.utils.atomic import atomic_file

    with atomic_file(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path


def benchmark_bars(hq: dict[str, Any], path: Path, names: dict[str, str]) -> Path | None:
    """Grouped bars of mIoU and mBIoU per benchmark for each model; None without data."""
    benches = [b for b in hq if isinstance(hq[b], dict)]
    models = [m for m in MODEL_LABELS if any(m in hq[b] for b in benches)]
    if not benches or not models:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(2.2 + 1.4 * len(benches) * 2, 3.4), sharey=True)
    x = np.arange(len(benches))
    width = 0.8 / len(models)
    for ax, metric in zip(axes, ("mIoU", "mBIoU"), strict=True):
        for i, model in enumerate(models):
            vals = [hq[b].get(model, {}).get(metric, np.nan) for b in benches]
            ax.bar(
                x + (i - (len(models) - 1) / 2) * width,
                vals,
                width,
                label=MODEL_LABELS[model],
                color=COLOURS[model],
            )
        ax.set_xticks(x, [names.get(b, b) for b in benches], rotation=20)
        ax.set_title(f"{metric} (%)")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("%")
    # Above the panels, not over them: inside an axes the legend can hide a bar.
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center",
               bbox_to_anchor=(0.5, 1.0), ncol=len(models), frameon=False)  # fmt: skip
    return save_figure(fig, path)


def iou_scatter(
    paired: pd.DataFrame,
    path: Path,
    names: dict[str, str],
    *,
    metric: str = "iou_pct",
    xlabel: str = "SAM",
    ylabel: str = "HQ-SAM",
) -> Path | None:
    """Per-image ``metric`` (a percent column) of model a (x) against model b (y), one
    colour per benchmark."""
    if paired is None or paired.empty:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    for bench, grp in paired.groupby("benchmark", sort=True):
        ax.scatter(
            grp[f"{metric}_a"], grp[f"{metric}_b"], s=14, alpha=0.7, label=names.get(bench, bench)
        )
    name = {"iou_pct": "IoU", "biou_pct": "boundary IoU"}.get(metric, metric)
    ax.plot([0, 100], [0, 100], color="black", lw=0.8, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"{xlabel} {name} (%)")
    ax.set_ylabel(f"{ylabel} {name} (%)")
    ax.set_title(f"per-image {name}: points above the line favour {ylabel}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)
