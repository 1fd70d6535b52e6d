"""``--embeddings-cache`` on `hqseg eval hq` / `eval coco`: a rerun encodes nothing and
writes the same bytes; COCO's encoder path equals ``set_image``; bad options are one line."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.modeling.hq_sam import HQSam
from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow
MODEL = ["--device", "cpu", "--no-progress"]
HQ_FILES = ("per_image.csv", "metrics.json", "masks.json", "skipped.csv")
COCO_FILES = ("results_sam.json", "results_hq_sam.json", "metrics.json")


@pytest.fixture
def encoder_calls(monkeypatch):
    """Images the real model's encoder ran on (HQSam.encode is wrapped)."""
    calls = []
    original = HQSam.encode

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(HQSam, "encode", counting)
    return calls


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A test_vit checkpoint (random weights, fixed: the encoder digest is a key part)."""
    from hqseg.modeling import build_hq_sam, save_official_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "test_vit.pth"
    save_official_checkpoint(build_hq_sam("test_vit"), path)
    return path


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    return write_coco_sample(tmp_path_factory.mktemp("coco") / "sample", seed=1)


def _run(args, checkpoint):
    res = CliRunner().invoke(main, [*args, "--checkpoint", str(checkpoint), *MODEL])
    assert res.exit_code == 0, res.output
    return res.output


def _coco_args(coco, out):
    return ["eval", "coco", "--annotations", str(coco["annotations"]), "--images",
            str(coco["images"]), "--detections", str(coco["detections"]), "--top-k", "2",
            "--limit", "2", "--out", str(out)]  # fmt: skip


def _same_files(a, b, names):
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_hq_rerun_with_cache_encodes_nothing_and_writes_the_same_bytes(
    build_folder, tmp_path, encoder_calls, checkpoint
):
    cache = tmp_path / "cache"
    base = ["eval", "hq", "--data", str(build_folder), "--embeddings-cache", str(cache)]
    first = _run([*base, "--out", str(tmp_path / "a")], checkpoint)
    assert sum(encoder_calls) == 3  # three scorable images (one has an empty mask)
    assert "encodings: 3 computed, 0 from cache" in first
    again = _run([*base, "--out", str(tmp_path / "b")], checkpoint)
    assert sum(encoder_calls) == 3
    assert "encodings: 0 computed, 3 from cache" in again
    _same_files(tmp_path / "a", tmp_path / "b", HQ_FILES)
    _run(["eval", "hq", "--data", str(build_folder), "--out", str(tmp_path / "plain")], checkpoint)
    _same_files(tmp_path / "a", tmp_path / "plain", HQ_FILES)


def test_coco_rerun_with_cache_encodes_nothing_and_writes_the_same_bytes(
    coco, tmp_path, encoder_calls, checkpoint
):
    cache = ["--embeddings-cache", str(tmp_path / "cache")]
    first = _run([*_coco_args(coco, tmp_path / "a"), *cache], checkpoint)
    assert sum(encoder_calls) == 2 and "encodings: 2 computed, 0 from cache" in first
    again = _run([*_coco_args(coco, tmp_path / "b"), *cache], checkpoint)
    assert sum(encoder_calls) == 2 and "encodings: 0 computed, 2 from cache" in again
    _same_files(tmp_path / "a", tmp_path / "b", COCO_FILES)
    _run(_coco_args(coco, tmp_path / "plain"), checkpoint)
    _same_files(tmp_path / "a", tmp_path / "plain", COCO_FILES)


def test_coco_encoder_path_equals_set_image(coco):
    from hqseg.evaluation.coco_encode import COCOInputs, PredictorImages
    from hqseg.evaluation.coco_io import load_detections, load_gt
    from hqseg.evaluation.predict import load_predictor

    torch.manual_seed(0)
    predictor = load_predictor("test_vit", resize_mode="longest_side")
    gt = load_gt(coco["annotations"])
    prompts = load_detections(coco["detections"], gt, top_k=2)
    items = list(COCOInputs(gt, coco["images"], prompts, sorted(prompts)[:2]))
    [state] = PredictorImages(predictor).encode([items[0]["image"]])
    predictor.set_image(items[0]["image"])
    for name, value in state.items():
        expected = getattr(predictor, name)
        assert torch.equal(value, expected) if torch.is_tensor(value) else value == expected


def test_coco_batched_equals_one_at_a_time(coco, tmp_path):
    from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

    from hqseg.evaluation.coco import evaluate_coco_models
    from hqseg.evaluation.coco_encode import COCOInputs, PredictorImages
    from hqseg.evaluation.coco_io import load_detections, load_gt
    from hqseg.evaluation.predict import load_predictor

    torch.manual_seed(0)
    predictor = load_predictor("test_vit", resize_mode="longest_side")
    gt = load_gt(coco["annotations"])
    prompts = load_detections(coco["detections"], gt, top_k=2)
    images = [it["image"] for it in COCOInputs(gt, coco["images"], prompts, sorted(prompts)[:3])]
    enc = PredictorImages(predictor)
    together = enc.encode(images)
    for image, state in zip(images, together, strict=True):
        [alone] = enc.encode([image])
        assert (state["original_size"], state["input_size"]) == (
            alone["original_size"], alone["input_size"])  # fmt: skip
        for name in ("features", "interm_features"):
            assert_close_f32(state[name], alone[name], rtol=RTOL32_OTHER_KERNELS)
    kw = {"detections": coco["detections"], "top_k": 2, "limit": 3, "progress": False}
    args = (predictor, coco["annotations"], coco["images"])
    one = evaluate_coco_models(*args, tmp_path / "one", **kw)
    batched = evaluate_coco_models(*args, tmp_path / "b", batch_size=2, workers=1, **kw)
    for name in ("results_sam.json", "results_hq_sam.json"):
        a = json.loads((tmp_path / "one" / name).read_text())
        b = json.loads((tmp_path / "b" / name).read_text())
        assert [(e["image_id"], e["score"]) for e in a] == [(e["image_id"], e["score"]) for e in b]
        same = sum(x["segmentation"] == y["segmentation"] for x, y in zip(a, b, strict=True))
        assert same >= len(a) - 1  # rounding may flip a pixel of one mask at most
    assert set(one) == set(batched)


def test_a_folder_that_is_not_a_cache_is_refused_in_one_line_and_kept(coco, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    args = [
        *_coco_args(coco, tmp_path / "out"),
        "--embeddings-cache",
        str(folder),
        "--model-type",
        "test_vit",
        *MODEL,
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code != 0
    assert "not an hqseg encoding cache" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert (folder / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--embeddings-cache-size", "lots"], "is not a size such as 20GB"),
        (["--amp", "fp16", "--device", "cpu"], "--amp fp16 needs a CUDA device"),
        (["--amp", "bf16", "--bf16"], "not both"),
    ],
)
def test_bad_options_are_one_clear_line(coco, tmp_path, option, message):
    args = [*_coco_args(coco, tmp_path / "out"), "--model-type", "test_vit", *option]
    res = CliRunner().invoke(main, args)
    assert res.exit_code != 0 and message in res.output
    assert "Traceback" not in res.output


def test_byte_size_units():
    from hqseg.cli.eval_checkpoints import ByteSize

    size = ByteSize()
    assert size.convert("20GB", None, None) == 20 * 10**9
    assert size.convert("1.5GiB", None, None) == 3 * 2**29
    assert size.convert("500m", None, None) == 500 * 10**6
    assert size.convert("4096", None, None) == 4096
