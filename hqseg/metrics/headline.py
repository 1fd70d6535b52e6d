"""Headline metric files: the few numbers ``dvc metrics show`` tabulates.

``dvc metrics show`` prints one row per metrics file and one column per key of any of
them, so the files it reads share their key names: one file per (stage, model), each a
flat ``{name: number}`` with names from this list (percent, except ``loss``)::

    mIoU, mBIoU   HQ benchmarks: the mean over benchmarks (or the only one);
                  training: the last validation
    AP, AP_B      COCO: mask AP and boundary AP
    loss, steps   training: the last logged loss, the optimiser steps
    suspects      audit: records at or above the review threshold

Files: ``eval/hq/headline_{sam,hq_sam}.json``, ``eval/coco/headline_{sam,hq_sam}.json``,
``runs/<run>/headline.json``, ``eval/audit/headline.json``; seven columns in all, so the
table fits 100 columns. The
full results stay in each stage's ``metrics.json`` / ``summary.json`` (nested JSON,
dotted paths in ``dvc metrics show FILE``).
"""

from __future__ import annotations

from typing import Any

HEADLINE_GLOB = "headline_*.json"
"""Names of the per-model headline files inside an eval output folder."""


def nested(flat: dict[str, Any] | None, sep: str = "/") -> dict[str, Any] | None:
    """``{"a/b": 1, "c": 2}`` -> ``{"a": {"b": 1}, "c": 2}`` (one key style: nested)."""
    if flat is None:
        return None
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(sep)
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def hq_headlines(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"headline_<model>.json": {"mIoU", "mBIoU"}}`` from ``eval hq``'s summary
    (``{benchmark: {model: {mIoU, mBIoU, n}}, "mean": ...}``)."""
    benchmarks = {k: v for k, v in summary.items() if isinstance(v, dict)}
    ours = benchmarks.get("mean") or (
        next(iter(benchmarks.values())) if len(benchmarks) == 1 else {}
    )
    return {
        f"headline_{model}.json": {"mIoU": row["mIoU"], "mBIoU": row["mBIoU"]}
        for model, row in ours.items()
    }


def coco_headlines(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"headline_<model>.json": {"AP", "AP_B"}}`` from ``eval coco``'s metrics."""
    return {
        f"headline_{model}.json": {"AP": row["segm"]["AP"], "AP_B": row["boundary"]["AP"]}
        for model, row in metrics.items()
        if isinstance(row, dict) and "segm" in row
    }


def train_headline(summary: dict[str, Any]) -> dict[str, Any]:
    """``{"mIoU", "mBIoU", "loss", "steps"}`` from training's ``summary.json`` dict."""
    after = summary.get("val_after") or {}
    return {
        "mIoU": after.get("mIoU"),
        "mBIoU": after.get("mBIoU"),
        "loss": summary.get("final_loss"),
        "steps": summary.get("steps"),
    }


def audit_headline(summary: dict[str, Any]) -> dict[str, int]:
    """``{"suspects"}`` from ``hqseg audit``'s summary (records at or above its threshold)."""
    return {"suspects": summary["above_threshold"]}
