"""Fixtures for report tests: hand-made results folders, and a real one from the fake model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

# The fake predictor and tiny build-folder writer live with the evaluation tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))


def write_results(folder: Path, rows: list[tuple], coco_ap: float | None = None) -> Path:
    """Results folder from (id, benchmark, model, iou, biou) rows given as fractions and
    written in percent, as ``hqseg eval hq`` writes them; metrics.json derived."""
    from hqseg.evaluation.hq import summarize

    table = pd.DataFrame(rows, columns=["id", "benchmark", "model", "iou_pct", "biou_pct"])
    table[["iou_pct", "biou_pct"]] *= 100
    table["height"], table["width"] = 10, 10
    (folder / "hq").mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "hq" / "per_image.csv", index=False)
    metrics = {"unit": "percent", "protocol": "square", **summarize(table)}
    (folder / "hq" / "metrics.json").write_text(json.dumps(metrics))
    if coco_ap is not None:
        stats = {"AP": coco_ap, "AP50": 50.0, "AP75": 10.0, "APs": -1.0, "APm": 5.0, "APl": 6.0}
        metrics = {m: {"segm": stats, "boundary": stats} for m in ("sam", "hq_sam")}
        metrics["setup"] = {"prompts": "detections", "images": 2, "top_k": 100}
        metrics = {"unit": "percent", **metrics}
        (folder / "coco").mkdir(parents=True, exist_ok=True)
        (folder / "coco" / "metrics.json").write_text(json.dumps(metrics))
    return folder


@pytest.fixture
def base_and_new(tmp_path):
    """Two runs over 4 images of one benchmark; HQ-SAM IoU changes by +0.1, +0.1, -0.2, 0."""
    ids = ["a", "b", "c", "d"]
    sam = [(i, "coift", "sam", 0.5, 0.4) for i in ids]
    base_hq = [
        (i, "coift", "hq_sam", v, 0.5) for i, v in zip(ids, [0.6, 0.6, 0.8, 0.7], strict=True)
    ]
    new_hq = [
        (i, "coift", "hq_sam", v, 0.5) for i, v in zip(ids, [0.7, 0.7, 0.6, 0.7], strict=True)
    ]
    base = write_results(tmp_path / "base", sam + base_hq, coco_ap=30.0)
    new = write_results(tmp_path / "new", sam + new_hq, coco_ap=31.5)
    return base, new
