"""``HQSamPredictor`` with its DEFAULTS is a drop-in for the authors' ``SamPredictor``.

segment_anything_hq's ``SamPredictor`` (the authors' package) and hqseg's predictor get
the same random weights (Light HQ-SAM ``vit_tiny``, HQ-SAM's ViT line at ``test_vit``) and
the same non-square image, whose sides are multiples of nothing useful so that the resize's
rounding and the padding show. Every mode (multimask_output x hq_token_only) and prompt
(box, points, box + points, box + mask input) must give the same full-size logits,
low-res logits and IoU, up to float32 rounding (tests/tolerances.py). One encoding per
image and model (module-scoped fixtures).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from authors_sam import SamPredictor, authors_sam
from tolerances import assert_close_f32

from hqseg.modeling import HQSamPredictor, build_hq_sam

MODES = [(mm, hq) for mm in (False, True) for hq in (False, True)]
IMAGE_SHAPE = (301, 517, 3)
BOX = np.array([40.5, 30.25, 400.0, 270.75])
POINTS = np.array([[200.3, 150.6], [310.0, 101.2], [60.0, 40.0]])
LABELS = np.array([1, 1, 0])
PROMPTS = {
    "box": {"box": BOX},
    "points": {"point_coords": POINTS, "point_labels": LABELS},
    "box_points": {"box": BOX, "point_coords": POINTS[:1], "point_labels": LABELS[:1]},
    "box_mask": {"box": BOX},  # + the authors' box answer (same mode) as mask input
}


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(11).integers(0, 256, IMAGE_SHAPE, dtype=np.uint8)


@pytest.fixture(scope="module", params=["vit_tiny", "test_vit"])
def predictors(request, image, perturb):
    """(ours, theirs): default predictors on one model type's random weights, image set.
    ``test_vit`` is HQ-SAM's ViT line at test size, on the authors' side built from their
    own modules (the official sizes' configurations: test_official_equality)."""
    torch.manual_seed(0)
    ours = perturb(build_hq_sam(request.param), seed=7).eval()
    theirs = authors_sam(request.param)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    theirs.eval()
    pair = HQSamPredictor(ours), SamPredictor(theirs)
    for predictor in pair:
        predictor.set_image(image)
    return pair


def test_default_geometry_is_the_authors(predictors):
    ours, theirs = predictors
    assert ours.resize_mode == "longest_side"
    # ResizeLongestSide: 301 * 1024 / 517 = 596.19, rounded half up -> 596; then padded
    assert ours.input_size == tuple(theirs.input_size) == (596, 1024)
    assert ours.original_size == tuple(theirs.original_size)


@pytest.fixture(scope="module")
def authors_answers():
    """The authors' answers by (model, prompt, mode): the box answer is also the mask
    input of ``box_mask``, so it is computed once."""
    return {}


@pytest.mark.parametrize("prompt", list(PROMPTS))
@pytest.mark.parametrize(("multimask", "hq_only"), MODES)
def test_predict_equals_the_authors(predictors, authors_answers, prompt, multimask, hq_only):
    ours, theirs = predictors
    options = {"multimask_output": multimask, "hq_token_only": hq_only, "return_logits": True}

    def authors(name, **kw):
        key = (type(theirs.model.image_encoder).__name__, name, multimask, hq_only)
        if key not in authors_answers:
            authors_answers[key] = theirs.predict(**kw, **options)
        return authors_answers[key]

    kw = dict(PROMPTS[prompt])
    if prompt == "box_mask":
        kw["mask_input"] = authors("box", **PROMPTS["box"])[2]
    want = authors(prompt, **kw)
    got = ours.predict(**kw, **options)
    for name, g, w in zip(("masks", "iou", "low_res"), got, want, strict=True):
        assert g.shape == w.shape, name
        assert_close_f32(g, w, msg=f"{prompt} {name}")
