"""Several --checkpoint in one `eval hq` / `eval coco`: each image encoded once, every
checkpoint's files equal to its own single-checkpoint run, bit for bit."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.errors import HqsegError
from hqseg.evaluation.shared_encoder import checkpoint_units
from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow
HQ_FILES = ("per_image.csv", "metrics.json", "masks.json", "skipped.csv")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two test_vit checkpoints trained from one SAM (HQ parts differ) and one whose
    image encoder differs."""
    import torch

    from hqseg.modeling import build_hq_sam, save_official_checkpoint

    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    model = build_hq_sam("test_vit")
    save_official_checkpoint(model, root / "a.pth")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in set(model.hq_parameter_names()):
                p.add_(0.05 * torch.randn_like(p))
    save_official_checkpoint(model, root / "b.pth")
    with torch.no_grad():
        next(model.image_encoder.parameters()).add_(0.01)
    save_official_checkpoint(model, root / "other_encoder.pth")
    return root


def _run(*args):
    base = ["--model-type", "test_vit", "--device", "cpu", "--no-progress"]
    return CliRunner().invoke(main, ["eval", *args, *base])


def _ckpts(root, *names):
    return [x for n in names for x in ("--checkpoint", str(root / f"{n}.pth"))]


def test_hq_checkpoints_equal_single_runs(checkpoints, build_folder, tmp_path):
    data = ["hq", "--data", str(build_folder), "--limit", "2"]
    res = _run(*data, *_ckpts(checkpoints, "a", "b"), "--out", str(tmp_path / "multi"))
    assert res.exit_code == 0, res.output
    for name in ("a", "b"):
        res = _run(*data, *_ckpts(checkpoints, name), "--out", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        one = pd.read_csv(tmp_path / name / "per_image.csv")
        assert set(one.model) == {"hq_sam", "sam"}
        multi = pd.read_csv(tmp_path / "multi" / name / "per_image.csv")
        pd.testing.assert_frame_equal(multi, one[one.model == "hq_sam"].reset_index(drop=True))
        masks = json.loads((tmp_path / "multi" / name / "masks.json").read_text())
        assert masks["hq_sam"] == json.loads((tmp_path / name / "masks.json").read_text())["hq_sam"]
    sam = pd.read_csv(tmp_path / "multi" / "sam" / "per_image.csv")
    one = pd.read_csv(tmp_path / "a" / "per_image.csv")
    pd.testing.assert_frame_equal(sam, one[one.model == "sam"].reset_index(drop=True))
    a_hq, b_hq = (pd.read_csv(tmp_path / n / "per_image.csv") for n in "ab")
    assert not a_hq.iou_pct.equals(b_hq.iou_pct)  # the checkpoints really differ


def test_hq_no_sam_run_equals_its_unit_bit_for_bit(checkpoints, build_folder, tmp_path):
    data = ["hq", "--data", str(build_folder), "--limit", "2", "--no-sam"]
    assert _run(*data, *_ckpts(checkpoints, "a", "b"), "--out", str(tmp_path / "m")).exit_code == 0
    assert _run(*data, *_ckpts(checkpoints, "b"), "--out", str(tmp_path / "b")).exit_code == 0
    for name in HQ_FILES:
        assert (tmp_path / "m" / "b" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert not (tmp_path / "m" / "sam").exists()


def test_coco_checkpoints_equal_single_runs(checkpoints, tmp_path):
    sample = write_coco_sample(tmp_path / "coco", seed=1)
    data = ["coco", "--annotations", str(sample["annotations"]), "--images",
            str(sample["images"]), "--detections", str(sample["detections"]),
            "--top-k", "2", "--limit", "2"]  # fmt: skip
    res = _run(*data, *_ckpts(checkpoints, "a", "b"), "--out", str(tmp_path / "multi"))
    assert res.exit_code == 0, res.output
    for name in ("a", "b"):
        assert _run(*data, *_ckpts(checkpoints, name), "--out", str(tmp_path / name)).exit_code == 0
        got = (tmp_path / "multi" / name / "results_hq_sam.json").read_bytes()
        assert got == (tmp_path / name / "results_hq_sam.json").read_bytes()
        metrics = json.loads((tmp_path / "multi" / name / "metrics.json").read_text())
        single = json.loads((tmp_path / name / "metrics.json").read_text())
        assert metrics["hq_sam"] == single["hq_sam"] and "sam" not in metrics
    got = (tmp_path / "multi" / "sam" / "results_sam.json").read_bytes()
    assert got == (tmp_path / "a" / "results_sam.json").read_bytes()


def test_different_encoders_are_refused_in_one_line(checkpoints, build_folder, tmp_path):
    res = _run("hq", "--data", str(build_folder), *_ckpts(checkpoints, "a", "other_encoder"),
               "--out", str(tmp_path / "x"))  # fmt: skip
    assert res.exit_code != 0
    assert "image encoder differs" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("paths", "why"),
    [(["x/a.pth", "y/a.pth"], "share the stem"), (["a.pth", "sam.pth"], "SAM baseline")],
)
def test_unit_names_are_unique_and_not_the_baseline(paths, why, tmp_path):
    with pytest.raises(HqsegError, match=why):
        checkpoint_units(paths, tmp_path)
