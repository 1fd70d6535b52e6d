"""The HQ protocol against a reference of the authors' evaluation (FACTS §4b), image for
image, on cases where the box rule and the uint8 truncation matter."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from authors_reference import evaluate_like_authors

from hqseg.evaluation.boxes import mask_to_box
from hqseg.evaluation.hq import evaluate_hq_split, resolve_protocol
from hqseg.evaluation.protocol import HQProtocol, LongestSideProtocol, score_masks
from hqseg.modeling import HQSamPredictor, build_hq_sam, build_plain_sam


def _perturb(model, seed=0, scale=0.05):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return _perturb(build_hq_sam("test_vit"))


@pytest.fixture(scope="module")
def plain_sam(model):
    """A genuine segment_anything Sam holding the same SAM weights."""
    sam = build_plain_sam("test_vit")
    hq_keys = set(model.hq_parameter_names())
    state = {k: v for k, v in model.state_dict().items() if k not in hq_keys}
    sam.load_state_dict(state, strict=True)
    return sam.eval()


def _soft_blob(h, w, cy, cx, ry, rx):
    yy, xx = np.mgrid[0:h, 0:w]
    r = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    return np.clip(255 * (1.6 - r), 0, 255).astype(np.uint8)


def _cases():
    """Three images, each combining several of the cases where the rules matter."""
    rng = np.random.default_rng(7)
    cases = {}
    # Thin (one pixel wide) objects touching the left, top and bottom borders, plus a block.
    m = np.zeros((64, 80), np.uint8)
    m[30:, :25] = 255
    m[0:64, 40] = 255
    m[12, 30:80] = 200
    cases["border_thin_64x80"] = (rng.integers(0, 256, (64, 80, 3), dtype=np.uint8), m)
    # Small non-square grey image (2-D) with a soft-edged object.
    grey = rng.integers(0, 256, (37, 90), dtype=np.uint8)
    cases["small_grey_37x90"] = (grey, _soft_blob(37, 90, 18, 40, 9, 25))
    # Tall image, 3-channel mask whose channel 1 would make a luminance mask all foreground.
    m3 = np.zeros((301, 77, 3), np.uint8)
    m3[..., 0] = _soft_blob(301, 77, 150, 38, 100, 20)
    m3[..., 1] = 255
    cases["mask_3ch_301x77"] = (rng.integers(0, 256, (301, 77, 3), dtype=np.uint8), m3)
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def runs(model, plain_sam):
    """Per case: the protocol's result (one encoding) and the authors' reference (one
    encoding, decoded by the HQ decoder and by a genuine plain SAM decoder)."""
    predictor = HQSamPredictor(model)
    proto = HQProtocol(predictor)
    out = {}
    for name, (image, mask) in CASES.items():
        prepared = proto.prepare(image, mask)
        got = proto.evaluate(image, mask, ("hq", "sam"))
        ref = evaluate_like_authors(model, image, mask, plain_sam=plain_sam)
        out[name] = (prepared, got, ref)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_prepared_input_and_box_equal_the_authors(runs, name):
    prepared, _, ref = runs[name]
    assert prepared.skip is None
    assert torch.equal(prepared.image, ref["input"])
    assert torch.equal(prepared.box, ref["box"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_per_image_scores_equal_the_authors(runs, name):
    _, got, ref = runs[name]
    # IoU/BIoU in [0, 1] from the same masks, counted by other code: 1e-6 ≈ 8 float32 ulps
    assert got["scores"]["hq"] == pytest.approx(ref["hq"], abs=1e-6)
    assert got["scores"]["sam"] == pytest.approx(ref["sam"], abs=1e-6)
    assert 0 < got["scores"]["hq"][0] < 1  # a partial overlap: the scores can tell


def test_cases_exercise_the_box_rule_and_the_truncation(model):
    """The cases above would catch a scaled original box or a float (untruncated) input."""
    proto = HQProtocol(HQSamPredictor(model))
    box_differs = truncation_differs = 0
    for image, mask in CASES.values():
        prepared = proto.prepare(image, mask)
        gt = (mask[..., 0] if mask.ndim > 2 else mask) > 128
        h, w = gt.shape
        scaled = mask_to_box(gt) * np.array([1024 / w, 1024 / h] * 2, np.float32)
        box_differs += not np.allclose(prepared.box.numpy()[0], scaled, atol=0.5)
        im = torch.tensor(np.atleast_3d(image), dtype=torch.float32).permute(2, 0, 1)
        im = im.expand(3, -1, -1) if im.shape[0] == 1 else im
        flt = torch.nn.functional.interpolate(im[None], (1024, 1024), mode="bilinear")
        unnorm = prepared.image * proto.model.pixel_std + proto.model.pixel_mean
        truncation_differs += not torch.allclose(unnorm, flt, atol=1e-3)
    assert box_differs == len(CASES) and truncation_differs == len(CASES)


def test_resize_does_not_depend_on_the_thread_count(model):
    image, mask = CASES["mask_3ch_301x77"]
    proto = HQProtocol(HQSamPredictor(model))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = proto.prepare(image, mask)
        torch.set_num_threads(1)
        b = proto.prepare(image, mask)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(a.image, b.image) and torch.get_num_threads() == before


def test_sam_baseline_is_plain_sam_and_ignores_hq_weights(model, plain_sam, runs):
    prepared = runs["small_grey_37x90"][0]
    predictor = HQSamPredictor(model)
    feats = predictor.encode_image(prepared.image)
    low, _ = predictor.decode_boxes(feats, prepared.box, ("sam",))["sam"]
    with torch.no_grad():
        sparse, dense = plain_sam.prompt_encoder(points=None, boxes=prepared.box, masks=None)
        want, _ = plain_sam.mask_decoder(
            feats[0], plain_sam.prompt_encoder.get_dense_pe(), sparse, dense, False
        )
    assert torch.equal(low, want)
    # "Training" the HQ parameters leaves the baseline bit-identical (the encoder has no
    # HQ parameter, so the features are shared).
    trained = copy.deepcopy(model)
    with torch.no_grad():
        for p in trained.hq_parameters():
            p.add_(1.0)
    other = HQSamPredictor(trained)
    low2, _ = other.decode_boxes(feats, prepared.box, ("sam",))["sam"]
    hq1 = predictor.decode_boxes(feats, prepared.box, ("hq",))["hq"][0]
    hq2 = other.decode_boxes(feats, prepared.box, ("hq",))["hq"][0]
    assert torch.equal(low, low2) and not torch.equal(hq1, hq2)


def _boundary_like_boundary_iou_api(mask: np.ndarray) -> np.ndarray:
    """FACTS §4, written out with cv2 (as boundary-iou-api): d = max(1, round(0.02 x
    diagonal)), one-pixel zero pad, d 3x3 erosions, crop; boundary = mask and not eroded."""
    import cv2

    h, w = mask.shape
    d = max(1, int(round(0.02 * np.sqrt(h**2 + w**2))))
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1:-1, 1:-1]
    return mask & (eroded == 0)


def test_score_masks_uses_the_authors_dtypes_and_boundary():
    gt = np.zeros((120, 200), bool)  # diagonal 233 -> d = 5: the erosion count shows
    gt[20:100, 30:150] = True
    gt[0:40, 160:200] = True  # touches the border: the zero pad shows
    pred = np.zeros_like(gt)
    pred[22:102, 33:153] = True
    iou, biou = score_masks(gt, pred)
    assert iou == float(np.float32(np.sum(gt & pred)) / np.float32(np.sum(gt | pred)))
    bg, bd = _boundary_like_boundary_iou_api(gt), _boundary_like_boundary_iou_api(pred)
    want = np.float32(np.float64(np.sum(bg & bd)) / np.float64(np.sum(bg | bd)))
    assert biou == float(want)
    assert 0.1 < biou < 0.9 and abs(biou - iou) > 0.1  # a partial overlap, not the mask IoU


def test_every_caller_gets_the_square_protocol_by_default(model):
    """The HQ protocol is named, never inferred from the predictor's interactive
    geometry (whose default is now SAM's, as the authors' predictor)."""
    assert HQSamPredictor(model).resize_mode == "longest_side"
    assert type(resolve_protocol(model)) is HQProtocol
    assert type(resolve_protocol(HQSamPredictor(model))) is HQProtocol
    longest = resolve_protocol(HQSamPredictor(model), "longest_side")
    assert isinstance(longest, LongestSideProtocol)
    with pytest.raises(ValueError, match="unknown protocol"):
        resolve_protocol(model, "sam2")


def test_evaluate_hq_split_equals_the_protocol(model):
    from evalfakes import png_bytes

    image, mask = CASES["border_thin_64x80"]
    rec = {"id": "a", "split": "thin", "image": png_bytes(image), "mask": png_bytes(mask)}
    model.mask_decoder.train()  # as during training: the split runs in eval mode...
    table, summary = evaluate_hq_split(model, [rec], mask_type=("hq",), progress=False)
    assert model.mask_decoder.training and not model.image_encoder.training  # ...restored
    model.eval()
    want = HQProtocol(HQSamPredictor(model)).evaluate(image, mask, ("hq",))["scores"]["hq"]
    assert table.iou_pct.iloc[0] == pytest.approx(want[0] * 100, abs=1e-9)
    assert summary["thin"]["hq_sam"]["mBIoU"] == pytest.approx(want[1] * 100, abs=1e-9)
