"""BoxPrompter (the COCO evaluation's inference) against independent references, per mask
type and geometry: the authors' ``SamPredictor`` (segment_anything_hq) and plain
segment_anything's for SAM's geometry; the authors' evaluation steps written out
(authors_reference.py) with the model's own modules for the square one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import segment_anything
import torch
import torch.nn.functional as F
from authors_reference import input_like_authors, resize_like_authors
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.evaluation.predict import BoxPrompter, load_predictor
from hqseg.modeling import build_plain_sam

try:  # the reference must be there: a missing package fails these tests, never skips them
    with warnings.catch_warnings():  # timm's registry notices on first import
        warnings.simplefilter("ignore")
        import segment_anything_hq
        from segment_anything_hq.build_sam import _build_sam
except ImportError as exc:  # pragma: no cover - only without the test extra
    raise AssertionError("the reference package segment-anything-hq is not installed") from exc

H, W = 70, 110
BOXES = np.array([[5, 6, 60, 50], [30, 10, 100, 69]], np.float32)


def _plain_sam(model):
    sam = build_plain_sam("test_vit")
    hq = set(model.hq_parameter_names())
    sam.load_state_dict({k: v for k, v in model.state_dict().items() if k not in hq})
    return sam.eval()


def longest_side_reference(model, image):
    """``{mask_type: (logits [N, H, W], scores [N])}`` from the authors' SamPredictor
    ("hq": hq_token_only) and plain segment_anything's ("sam"), test_vit's shape."""
    theirs = _build_sam(64, 4, 2, (1,))  # = hqseg's test_vit (window 14)
    theirs.load_state_dict(model.state_dict(), strict=True)
    out = {}
    for t, predictor, kw in [
        ("hq", segment_anything_hq.SamPredictor(theirs.eval()), {"hq_token_only": True}),
        ("sam", segment_anything.SamPredictor(_plain_sam(model)), {}),
    ]:
        predictor.set_image(image)
        boxes = predictor.transform.apply_boxes_torch(torch.as_tensor(BOXES), (H, W))
        masks, iou, _ = predictor.predict_torch(
            None, None, boxes, multimask_output=False, return_logits=True, **kw
        )
        out[t] = (masks[:, 0].numpy(), iou[:, 0].numpy())
    return out


def square_reference(model, image):
    """The same from the authors' evaluation geometry (FACTS §4b steps 2, 3, 6) with user
    boxes scaled per axis, decoded by the model's modules."""
    im = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)
    im_r, _ = resize_like_authors(im, torch.zeros(1, H, W))
    x = input_like_authors(model, im_r)
    boxes = torch.as_tensor(BOXES * np.array([1024 / W, 1024 / H] * 2, np.float32))
    plain = _plain_sam(model)
    with torch.no_grad():
        emb, interm = model.encode(x)
        out = {}
        for t, sam in (("hq", model), ("sam", plain)):
            sparse, dense = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
            extra = {"hq_token_only": True, "interm_embeddings": [interm]} if t == "hq" else {}
            low, iou = sam.mask_decoder(
                emb, sam.prompt_encoder.get_dense_pe(), sparse, dense, False, **extra
            )
            up = F.interpolate(low, (H, W), mode="bilinear", align_corners=False)
            out[t] = (up[:, 0].numpy(), iou[:, 0].numpy())
    return out


@pytest.mark.slow
@pytest.mark.parametrize("resize_mode", ["square", "longest_side"])
def test_prompter_matches_independent_references(resize_mode):
    predictor = load_predictor("test_vit", device="cpu", resize_mode=resize_mode)
    image = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    got = BoxPrompter(predictor)(image, BOXES, ("hq", "sam"))
    reference = longest_side_reference if resize_mode == "longest_side" else square_reference
    want = reference(predictor.model, image)
    for mask_type in ("hq", "sam"):
        logits, scores = want[mask_type]
        masks = got[mask_type]["masks"]
        assert masks.shape == (2, H, W)
        # a pixel may flip only where the reference logit is within float32 rounding of 0
        near_zero = np.abs(logits) <= RTOL32_OTHER_KERNELS * max(1.0, np.abs(logits).max())
        assert np.array_equal(masks[~near_zero], (logits > 0)[~near_zero])
        assert_close_f32(got[mask_type]["scores"], scores, RTOL32_OTHER_KERNELS)
    assert not np.array_equal(got["hq"]["masks"], got["sam"]["masks"])
