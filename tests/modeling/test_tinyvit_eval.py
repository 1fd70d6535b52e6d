"""`hqseg eval hq` / `eval coco` on Light HQ-SAM (test_tinyvit; baseline = MobileSAM's own
mask token from the same encoding). eval hq infers the model type from the checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.modeling import build_hq_sam, save_official_checkpoint
from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow


def test_eval_hq_infers_tinyvit_from_checkpoint(built, tmp_path):
    torch.manual_seed(0)
    checkpoint = tmp_path / "sam_hq_test_tinyvit.pth"
    save_official_checkpoint(build_hq_sam("test_tinyvit"), checkpoint)
    out = tmp_path / "hq"
    args = ["eval", "hq", "--data", str(built("official", "drop")[1]), "--split", "dis_vd"]
    args += ["--limit", "1", "--checkpoint", str(checkpoint), "--device", "cpu"]
    res = CliRunner().invoke(main, [*args, "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dis_vd"]["hq_sam"]["n"] == metrics["dis_vd"]["sam"]["n"] == 1


def test_eval_coco_tinyvit(tmp_path):
    sample = write_coco_sample(tmp_path / "coco", seed=1)
    args = ["eval", "coco", "--annotations", str(sample["annotations"])]
    args += ["--images", str(sample["images"]), "--detections", str(sample["detections"])]
    args += ["--top-k", "2", "--limit", "1", "--model-type", "test_tinyvit", "--device", "cpu"]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics) >= {"sam", "hq_sam"}
