"""End to end with the real tiny HQ-SAM (random weights): `hqseg eval hq` and `hqseg eval coco`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow


def test_eval_hq_tiny_model(build_folder, tmp_path):
    out = tmp_path / "hq"
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "hq",
            "--data",
            str(build_folder),
            "--split",
            "dis_vd",
            "--limit",
            "1",
            "--model-type",
            "test_vit",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "per_image.csv")
    assert sorted(table.model) == ["hq_sam", "sam"]
    assert table.iou_pct.between(0, 100).all() and table.biou_pct.between(0, 100).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dis_vd"]["hq_sam"]["n"] == 1


def test_eval_coco_tiny_model(tmp_path):
    sample = write_coco_sample(tmp_path / "coco", seed=1)
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "coco",
            "--annotations",
            str(sample["annotations"]),
            "--images",
            str(sample["images"]),
            "--detections",
            str(sample["detections"]),
            "--top-k",
            "2",
            "--limit",
            "1",
            "--model-type",
            "test_vit",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "out" / "results_sam.json").read_text())
    assert 1 <= len(results) <= 2
    assert {"image_id", "category_id", "segmentation", "score"} <= set(results[0])
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["hq_sam"]["boundary"]) >= {"AP", "AP50", "ARl"}
