"""``hqseg predict``: box / point prompts on one image, for every model line, through the CLI;
the start-up line; the random-weights guard; the ONNX example (encoder in torch, decoder in
onnxruntime) and the named ONNX output dimensions."""

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort  # test dependency: must fail if missing
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from hqseg.cli import main
from hqseg.evaluation.predict import load_predictor
from hqseg.modeling import build_hq_sam

TYPES = ["test_vit", "test_tinyvit", "test_hiera"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onnx_predict.py"
# onnxruntime vs torch logits agree to ~1e-4 (float32, different kernel order; see
# test_onnx_export.py); a thresholded pixel may differ only where |logit| is that small.
LOGIT_ATOL = 1e-3


def _save(model, path: Path) -> Path:
    from hqseg.modeling import save_official_checkpoint

    save_official_checkpoint(model, path)
    return path


@pytest.fixture(scope="module", params=TYPES)
def checkpoint(request, tmp_path_factory, perturb):
    torch.manual_seed(0)
    model = perturb(build_hq_sam(request.param), seed=3).eval()
    return _save(model, tmp_path_factory.mktemp("ckpt") / f"{request.param}.pt")


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """A 70x90 (H x W) JPEG: a bright disc on noise."""
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 90, (70, 90, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:70, :90]
    arr[(yy - 35) ** 2 + (xx - 40) ** 2 < 18**2] = (230, 200, 40)
    path = tmp_path_factory.mktemp("img") / "disc.jpg"
    Image.fromarray(arr).save(path, quality=95)
    return path


def _run(*args):
    return CliRunner().invoke(main, ["predict", *map(str, args)])


def _reference(checkpoint, image, **prompt):
    """Float logits of the library predictor in its default geometry, the authors'
    interactive one for the line (what predict must write)."""
    predictor = load_predictor(None, checkpoint=str(checkpoint), resize_mode=None)
    want = "sam2" if predictor.model.line.name == "sam2" else "longest_side"
    assert predictor.resize_mode == want
    rgb = np.asarray(Image.open(image).convert("RGB"))
    predictor.set_image(rgb)
    logits, _, _ = predictor.predict(multimask_output=False, return_logits=True, **prompt)
    return predictor, rgb, logits[0]


def test_box_writes_the_predictors_mask(checkpoint, image, tmp_path):
    out, overlay = tmp_path / "mask.png", tmp_path / "overlay.png"
    result = _run(image, "--checkpoint", checkpoint, "--box", "20,15,62,55", "--out", out,
                  "--overlay", overlay, "--device", "cpu")  # fmt: skip
    assert result.exit_code == 0, result.output
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    first = result.output.splitlines()[0]
    assert first.startswith(f"model {checkpoint.stem} | weights {checkpoint} sha256 {sha}")
    assert "parameters" in first and "device cpu" in first and "boxes=1" in first
    mask = np.asarray(Image.open(out))
    assert mask.shape == (70, 90) and set(np.unique(mask)) <= {0, 255}
    _, rgb, logits = _reference(checkpoint, image, box=np.array([20, 15, 62, 55]))
    np.testing.assert_array_equal(mask == 255, logits > 0)
    tinted = np.asarray(Image.open(overlay))
    assert tinted.shape == (70, 90, 3)
    assert (tinted != rgb).any(axis=2).sum() >= (mask == 255).sum() > 0


def test_points_and_box_with_hq_token_only(checkpoint, image, tmp_path):
    out = tmp_path / "mask.png"
    result = _run(image, "--checkpoint", checkpoint, "--point", "40,35", "--point", "5,5,0",
                  "--box", "10,10,80,65", "--hq-token-only", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    predictor, _, _ = _reference(checkpoint, image)
    logits, _, _ = predictor.predict(
        point_coords=np.array([[40, 35], [5, 5]]), point_labels=np.array([1, 0]),
        box=np.array([10, 10, 80, 65]), multimask_output=False, hq_token_only=True,
        return_logits=True,
    )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(Image.open(out)) == 255, logits[0] > 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--box", "50,10,20,40"], "need x0 < x1"),
        (["--box", "10,10,95,40"], "leaves the 90x70 image"),
        (["--point", "100,10"], "outside the 90x70 image"),
        (["--point", "10,10,2"], "label must be 1"),
        (["--box", "1,1,9,9", "--box", "2,2,8,8", "--point", "5,5"], "at most one box"),
        ([], "at least one --box"),
        (["--box", "1,2,3"], "not a box"),
        (["--point", "1,nan"], "not a point"),
        (["--box", "1,1,9,9", "--device", "gpu"], "not a device"),
    ],
)
def test_bad_prompts_are_one_line_errors(image, tmp_path, args, message):
    torch.manual_seed(0)
    ckpt = _save(build_hq_sam("test_vit"), tmp_path / "c.pth")
    out = tmp_path / "mask.png"
    result = _run(image, "--checkpoint", ckpt, *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_bad_image_and_outputs(image, tmp_path):
    torch.manual_seed(0)
    ckpt = _save(build_hq_sam("test_vit"), tmp_path / "c.pth")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    cases = [
        ([junk, "--out", tmp_path / "m.png"], "not a recognised image"),
        ([tmp_path / "none.jpg", "--out", tmp_path / "m.png"], "no such image"),
        ([image, "--out", tmp_path], "is a folder"),
        ([image, "--out", tmp_path / "m.jpg"], "must be a .png"),
        ([image, "--out", tmp_path / "m.png", "--overlay", tmp_path / "m.png"], "different"),
    ]
    for args, message in cases:
        result = _run(args[0], "--checkpoint", ckpt, "--box", "1,1,9,9", *args[1:])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("model_type", ["vit_b", "vit_tiny", "sam2.1_hiera_t"])
def test_real_types_need_weights_or_the_flag(image, tmp_path, model_type):
    out = tmp_path / "m.png"
    result = _run(image, "--model-type", model_type, "--box", "1,1,9,9", "--out", out)
    assert result.exit_code == 2
    assert f"model type {model_type} has no --checkpoint" in result.output
    assert "--random-weights" in result.output and not out.exists()


def test_test_types_run_on_random_weights(image, tmp_path):
    out = tmp_path / "m.png"
    result = _run(image, "--model-type", "test_vit", "--box", "10,10,60,50", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("model test_vit | weights RANDOM |")
    assert out.is_file()


def test_train_and_eval_refuse_random_real_models(tmp_path):
    """Refused before any data is read (the data folder does not even exist)."""
    runner = CliRunner()
    train = runner.invoke(main, ["train", "--data", str(tmp_path / "none"), "--model-type",
                                 "vit_l", "--out", str(tmp_path / "run")])  # fmt: skip
    evaluation = runner.invoke(main, ["eval", "hq", "--data", str(tmp_path / "none"),
                                      "--out", str(tmp_path / "ev")])  # fmt: skip
    for result in (train, evaluation):
        assert result.exit_code == 2, result.output
        assert "vit_l has no --checkpoint" in result.output, result.output
    assert not (tmp_path / "run").exists() and not (tmp_path / "ev").exists()


def test_export_prints_the_startup_line(tmp_path):
    torch.manual_seed(0)
    ckpt = _save(build_hq_sam("test_vit"), tmp_path / "c.pth")
    result = CliRunner().invoke(main, ["export", str(ckpt), "--out", str(tmp_path / "o.pth")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"model test_vit | weights {ckpt} sha256 ")


def _load_example():
    spec = importlib.util.spec_from_file_location("onnx_predict", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_onnx_example_matches_torch(checkpoint, image, tmp_path):
    onnx_path, out = tmp_path / "decoder.onnx", tmp_path / "onnx_mask.png"
    exported = CliRunner().invoke(
        main, ["export", str(checkpoint), "--format", "onnx", "--out", str(onnx_path)]
    )
    assert exported.exit_code == 0, exported.output
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for o in session.get_outputs():
        assert all(isinstance(d, int) or d in ("batch", "num_masks", "height", "width")
                   for d in o.shape), (o.name, o.shape)  # fmt: skip
    assert session.get_outputs()[0].shape[1] == "num_masks"  # height, width: static or named
    _load_example().main([str(image), "--checkpoint", str(checkpoint), "--onnx",
                          str(onnx_path), "--box", "20,15,62,55", "--point", "40,35",
                          "--out", str(out)])  # fmt: skip
    got = np.asarray(Image.open(out)) == 255
    _, _, logits = _reference(
        checkpoint, image, box=np.array([20, 15, 62, 55]),
        point_coords=np.array([[40, 35]]), point_labels=np.array([1]),
    )  # fmt: skip
    differ = got != (logits > 0)
    assert not differ[np.abs(logits) > LOGIT_ATOL].any()
    assert got.sum() > 0 or (logits <= 0).all()
