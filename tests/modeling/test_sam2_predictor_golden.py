"""HQ-SAM 2: hqseg's DEFAULT predictor equals the authors' ``SAM2ImagePredictor`` end to end
(golden answers, tests/fixtures/sam2hq_predictor_golden.pt).

The fixture was made by ``tests/fixtures/make_sam2hq_golden.py --predictor`` with the
authors' sam-hq2 code on the ``test_hiera`` configuration and name-seeded weights, on a
seeded 301x1117 image (one side upsampled to 1024, the other downsampled), prompts in
original-image pixels. Here hqseg's model gets the same weights and its predictor, with
no geometry named, must give the same full-size logits, low-res logits and IoUs up to
float32 rounding at their scale (tests/tolerances.py), for every prompt in all four
modes. The authors return three masks with ``multimask_output`` (one HQ mask and three
IoUs with ``hq_token_only``); hqseg returns the one with the highest predicted IoU.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from tolerances import assert_close_f32, float32_tol

from hqseg.modeling import HQSamPredictor
from hqseg.modeling.sam2_hq import build_hq_sam2, fill_seeded

FIXTURES = Path(__file__).parents[1] / "fixtures"
GOLDEN = FIXTURES / "sam2hq_predictor_golden.pt"
MODES = [(mm, hq) for mm in (False, True) for hq in (False, True)]
PROMPT_NAMES = ("box", "points", "box_points", "box_mask")


def _make_script():
    spec = importlib.util.spec_from_file_location("make_golden", FIXTURES / "make_sam2hq_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden():
    return torch.load(GOLDEN, weights_only=True)


@pytest.fixture(scope="module")
def make():
    """The make script as a module: the image and prompts come from the code that made
    the golden, so both sides are given the same inputs."""
    return _make_script()


@pytest.fixture(scope="module")
def model(golden):
    m = build_hq_sam2(golden["meta"]["model_type"])
    values = fill_seeded(m, golden["meta"]["seed"])
    sums = golden["weight_sums"]
    assert set(values) == set(sums)
    for name, value in values.items():  # see test_sam2_official_equality: order-only rounding
        assert float(value.double().sum()) == pytest.approx(sums[name], rel=1e-9, abs=1e-9)
    return m.eval()


@pytest.fixture(scope="module")
def image(golden, make):
    image = make.predictor_image()
    want = golden["image"]
    assert image.shape == tuple(want["shape"])
    assert hashlib.sha256(image.tobytes()).hexdigest() == want["sha256"], "image generator"
    return image


@pytest.fixture(scope="module")
def predictor(model, image):
    p = HQSamPredictor(model)  # the default geometry: nothing named
    p.set_image(image)
    return p


def best_of(want: dict, iou: torch.Tensor) -> tuple[torch.Tensor, dict, dict]:
    """The authors' answer reduced to hqseg's one mask: the highest-IoU entry."""
    best = int(iou.argmax())
    pick = lambda rec: {  # noqa: E731
        k: (v[best if v.shape[0] > 1 else 0] if k != "shape" else v) for k, v in rec.items()
    }
    return iou[best], pick(want["masks"]), pick(want["low_res"])


def check_map(got: np.ndarray, want: dict, stride: int, what: str) -> None:
    """``got`` ``[h, w]`` against the golden record (subsample and float64 sums)."""
    assert tuple(got.shape) == tuple(want["shape"].tolist()[-2:]), what
    got = torch.from_numpy(got)
    assert_close_f32(got[::stride, ::stride], want["sub"], msg=what)
    atol = float32_tol(want["sub"])["atol"] * got.numel()  # each pixel within its bound
    full = got.double()
    torch.testing.assert_close(full.sum(), want["sum"], atol=atol, rtol=0, msg=what)
    torch.testing.assert_close(full.abs().sum(), want["abs_sum"], atol=atol, rtol=0, msg=what)


def answer(predictor, make, prompt: str, multimask: bool, hq_only: bool):
    options = {"multimask_output": multimask, "hq_token_only": hq_only, "return_logits": True}
    kw = dict(make.predictor_prompts()[prompt])
    if prompt == "box_mask":  # the box answer's best low-res mask, as the make script feeds
        kw["mask_input"] = predictor.predict(**make.predictor_prompts()["box"], **options)[2]
    return predictor.predict(**kw, **options)


def test_default_geometry_is_sam2s(predictor):
    assert predictor.resize_mode == "sam2"


@pytest.mark.parametrize("prompt", PROMPT_NAMES)
@pytest.mark.parametrize(("multimask", "hq_only"), MODES)
def test_predict_equals_the_authors(golden, make, predictor, prompt, multimask, hq_only):
    want = golden["outputs"][f"{prompt}/multimask={int(multimask)}/hq_token_only={int(hq_only)}"]
    masks, iou, low = answer(predictor, make, prompt, multimask, hq_only)
    want_iou, want_masks, want_low = best_of(want, want["iou"])
    assert masks.shape[0] == iou.shape[0] == low.shape[0] == 1
    assert_close_f32(torch.from_numpy(iou)[0], want_iou, msg="iou")
    check_map(masks[0], want_masks, golden["full_stride"], "full-size logits")
    check_map(low[0], want_low, golden["meta"]["stride"], "low-res logits")


def test_square_geometry_would_fail(golden, make, model, image):
    """Guard: the golden tells geometries apart (the evaluation's square resize, which
    the predictor used by default before, gives other logits)."""
    square = HQSamPredictor(model, resize_mode="square")
    square.set_image(image)
    masks, _, _ = answer(square, make, "box", False, False)
    want = golden["outputs"]["box/multimask=0/hq_token_only=0"]["masks"]
    with pytest.raises(AssertionError):
        check_map(masks[0], want, golden["full_stride"], "square")
