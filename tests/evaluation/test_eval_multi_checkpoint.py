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
    """Two test_vit checkpoints trained from one SAM (HQ parts differ), one whose SAM
    decoder differs and one whose image encoder differs."""
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
        model.mask_decoder.iou_token.weight.add_(0.01)  # a SAM decoder weight, not an HQ one
    save_official_checkpoint(model, root / "other_sam.pth")
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


def test_an_encoding_side_tensor_outside_the_image_encoder_counts_as_the_encoder():
    """HQ-SAM 2's encoding also reads ``no_mem_embed`` (outside ``image_encoder``): two
    checkpoints that differ there do not share one encoding."""
    import torch

    from hqseg.evaluation.shared_encoder import Checkpoints
    from hqseg.modeling import build_hq_sam

    torch.manual_seed(0)
    first = build_hq_sam("test_hiera")
    second = build_hq_sam("test_hiera")
    second.load_state_dict(first.state_dict())
    Checkpoints([first, second], ["a", "b"])  # equal: shared
    with torch.no_grad():
        second.no_mem_embed.add_(0.01)
    with pytest.raises(HqsegError, match="b: its image encoder differs"):
        Checkpoints([first, second], ["a", "b"])


def test_different_sam_decoders_have_no_one_baseline(checkpoints, build_folder, tmp_path):
    """The baseline is SAM's own decoder: checkpoints that disagree on it give no one
    baseline, so the run is refused (one line, nothing written) unless it is left out."""
    data = ["hq", "--data", str(build_folder), "--limit", "1"]
    data += _ckpts(checkpoints, "a", "other_sam")
    res = _run(*data, "--out", str(tmp_path / "x"))
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "other_sam: its SAM prompt encoder and decoder differ" in res.output
    assert not (tmp_path / "x").exists()
    res = _run(*data, "--no-sam", "--out", str(tmp_path / "y"))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "y").iterdir() if p.is_dir()) == ["a", "other_sam"]


def test_own_benchmark_checkpoints_and_cache_equal_single_runs(checkpoints, tmp_path):
    """--benchmark SPEC takes what a build's benchmarks take: several checkpoints on one
    encoding (each unit's files equal its single run, byte for byte) and the encoding
    cache (a rerun encodes nothing and writes the same bytes)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for n, (h, w) in enumerate([(90, 120), (130, 70)]):
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4 : 3 * h // 4, w // 5 : 4 * w // 5] = 255
        for folder, array in (("images", rng.integers(0, 256, (h, w, 3), np.uint8)),
                              ("masks", mask)):  # fmt: skip
            (tmp_path / "own" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(tmp_path / "own" / folder / f"{n}.png")
    spec = ["hq", "--benchmark", f"folder:{tmp_path / 'own'}?name=own", "--no-sam"]
    for name in ("a", "b"):
        res = _run(*spec, *_ckpts(checkpoints, name), "--out", str(tmp_path / name))
        assert res.exit_code == 0, res.output
    said = {}
    for out in ("multi", "again"):
        res = _run(*spec, *_ckpts(checkpoints, "a", "b"), "--out", str(tmp_path / out),
                   "--embeddings-cache", str(tmp_path / "cache"))  # fmt: skip
        assert res.exit_code == 0, res.output
        said[out] = res.output
        for name in ("a", "b"):
            for file in HQ_FILES:
                got = (tmp_path / out / name / file).read_bytes()
                assert got == (tmp_path / name / file).read_bytes(), (out, name, file)
    assert "encodings: 2 computed, 0 from cache" in said["multi"]
    assert "encodings: 0 computed, 2 from cache" in said["again"]
    a, b = (pd.read_csv(tmp_path / n / "per_image.csv") for n in "ab")
    assert len(a) == 2 and not a.iou_pct.equals(b.iou_pct)  # two images; the units differ


@pytest.mark.parametrize(
    ("paths", "why"),
    [(["x/a.pth", "y/a.pth"], "share the stem"), (["a.pth", "sam.pth"], "SAM baseline")],
)
def test_unit_names_are_unique_and_not_the_baseline(paths, why, tmp_path):
    with pytest.raises(HqsegError, match=why):
        checkpoint_units(paths, tmp_path)
