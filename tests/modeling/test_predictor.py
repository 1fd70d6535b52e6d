"""HQSamPredictor with the tiny model: shapes at the original size, batched boxes, batched
images, modes, the geometry defaults, bf16."""

import numpy as np
import pytest
import torch
from authors_sam import SamPredictor, authors_sam
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.modeling import HQSamPredictor, build_plain_sam

H, W = 300, 460
BOXES = np.array([[10, 20, 200, 250], [100, 50, 450, 290], [0, 0, 459, 299]], dtype=np.float64)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def predictor(tiny_model, image):
    p = HQSamPredictor(tiny_model)  # default geometry: SAM's, as the authors' SamPredictor
    p.set_image(image)
    return p


def test_default_geometry_follows_the_line(tiny_model, predictor):
    """ViT lines default to SAM's geometry (HQ-SAM 2's default: test_sam2_predictor_golden);
    SAM 2's geometry is refused for a model of another line."""
    assert predictor.resize_mode == "longest_side"
    with pytest.raises(ValueError, match="needs an HQ-SAM 2 model"):
        HQSamPredictor(tiny_model, resize_mode="sam2")


def test_predict_boxes_shapes_at_original_size(predictor):
    masks, scores, low = predictor.predict_boxes(BOXES, hq_token_only=True)
    assert masks.shape == (3, H, W) and masks.dtype == bool
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert low.shape == (3, 1, 256, 256)
    logits, _, _ = predictor.predict_boxes(BOXES, hq_token_only=True, return_logits=True)
    assert logits.shape == (3, H, W) and logits.dtype == np.float32
    np.testing.assert_array_equal(logits > 0, masks)


def test_batched_boxes_equal_one_by_one(predictor):
    batched, scores, low = predictor.predict_boxes(BOXES, return_logits=True, batch_size=2)
    for i, box in enumerate(BOXES):
        one, s, lo = predictor.predict(box=box, multimask_output=False, return_logits=True)
        assert_close_f32(one[0], batched[i], RTOL32_OTHER_KERNELS)
        assert_close_f32(s[0], scores[i], RTOL32_OTHER_KERNELS)
        assert_close_f32(lo[0], low[i, 0], RTOL32_OTHER_KERNELS)


def test_mask_types_relate(predictor, tiny_model):
    """sum = SAM token of the HQ decoder + hq; "sam" is plain SAM's own decoder (not the
    token inside the HQ decoder); hq_token_only is mask_type "hq"; the three differ."""
    out = {
        t: predictor.predict_boxes(BOXES, mask_type=t, return_logits=True)[2]
        for t in ("sam", "hq", "sum")
    }
    boxes_in = predictor.apply_boxes(BOXES)
    with torch.no_grad():
        all_masks, _ = tiny_model.decode_all(
            predictor.features,
            predictor.interm_features,
            boxes=torch.as_tensor(boxes_in, dtype=torch.float),
        )
        plain, _ = tiny_model.decode_sam(
            predictor.features, boxes=torch.as_tensor(boxes_in, dtype=torch.float)
        )
    inner_sam = all_masks[:, 0:1].numpy()
    assert_close_f32(out["sum"], inner_sam + out["hq"], RTOL32_OTHER_KERNELS)
    np.testing.assert_array_equal(out["sam"], plain[:, 0:1].numpy())
    assert not np.allclose(out["sam"], inner_sam, atol=1e-4)
    hq_flag = predictor.predict_boxes(BOXES, hq_token_only=True, return_logits=True)[2]
    np.testing.assert_array_equal(hq_flag, out["hq"])
    assert not np.allclose(out["sam"], out["hq"], atol=1e-3)


def test_multimask_picks_best_sam_token(predictor, tiny_model):
    _, scores_mm, low_mm = predictor.predict_boxes(BOXES, multimask_output=True, mask_type="sam")
    boxes_in = predictor.transform.apply_boxes(BOXES, predictor.original_size)
    with torch.no_grad():
        all_masks, iou = tiny_model.decode_sam(
            predictor.features, boxes=torch.as_tensor(boxes_in, dtype=torch.float)
        )
    best = iou[:, 1:4].argmax(1) + 1
    assert_close_f32(scores_mm, iou[torch.arange(3), best].numpy(), RTOL32_OTHER_KERNELS)
    want = all_masks[torch.arange(3), best].numpy()
    assert_close_f32(low_mm[:, 0], want, RTOL32_OTHER_KERNELS)


def test_points_and_mask_input(predictor):
    masks, scores, low = predictor.predict(
        point_coords=np.array([[50, 60], [300, 200]]),
        point_labels=np.array([1, 0]),
        multimask_output=True,
    )
    assert masks.shape == (1, H, W) and scores.shape == (1,) and low.shape == (1, 256, 256)
    again, _, _ = predictor.predict(box=BOXES[0], mask_input=low, return_logits=True)
    assert again.shape == (1, H, W)


def test_empty_boxes_and_unset_image(tiny_model, predictor):
    masks, scores, low = predictor.predict_boxes(np.zeros((0, 4)))
    assert masks.shape == (0, H, W) and scores.shape == (0,) and low.shape == (0, 1, 256, 256)
    with pytest.raises(RuntimeError, match="set_image"):
        HQSamPredictor(tiny_model).predict_boxes(BOXES)


def test_bgr_input_equals_rgb(tiny_model, image, predictor):
    p = HQSamPredictor(tiny_model, resize_mode="longest_side")
    p.set_image(np.ascontiguousarray(image[..., ::-1]), image_format="BGR")
    torch.testing.assert_close(p.features, predictor.features, rtol=0, atol=0)  # same pixels


def _test_vit_at(side: int, perturb) -> torch.nn.Module:
    """test_vit's layers (the same widths, depth, heads and blocks) at a ``side``-pixel
    square input: an embedding of (side/16)^2 tokens instead of 64x64."""
    from functools import partial

    from segment_anything.modeling import ImageEncoderViT, PromptEncoder

    from hqseg.modeling.build import build_hq_mask_decoder
    from hqseg.modeling.configs import ENCODER_CONFIGS
    from hqseg.modeling.hq_sam import HQSam

    cfg = ENCODER_CONFIGS["test_vit"]
    torch.manual_seed(0)
    encoder = ImageEncoderViT(
        img_size=side, patch_size=16, embed_dim=cfg.embed_dim, depth=cfg.depth,
        num_heads=cfg.num_heads, mlp_ratio=4, out_chans=256, qkv_bias=True,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
        window_size=cfg.window_size, global_attn_indexes=cfg.global_attn_indexes,
    )  # fmt: skip
    prompts = PromptEncoder(
        embed_dim=256, image_embedding_size=(side // 16,) * 2, input_image_size=(side, side),
        mask_in_chans=16,
    )  # fmt: skip
    decoder = build_hq_mask_decoder(vit_dim=cfg.vit_dim)
    model = HQSam(image_encoder=encoder, prompt_encoder=prompts, mask_decoder=decoder)
    return perturb(model).eval()


def test_bf16_autocast_runs_on_cpu(image, perturb):
    """bf16 autocast through set_image and predict, against float32 on the same weights.

    At a 256-pixel input: a CPU without bfloat16 instructions (AVX2, as CI's) runs bf16
    convolutions in torch's reference kernel, 50 s for test_vit at 1024 (the neck's and the
    HQ mask features' 3x3 convolutions), 3 s here; the autocast path is the same."""
    model = _test_vit_at(256, perturb)
    fp32 = HQSamPredictor(model, resize_mode="longest_side")
    fp32.set_image(image)
    p = HQSamPredictor(model, dtype=torch.bfloat16, resize_mode="longest_side")
    p.set_image(image)
    assert p.features.shape == (1, 256, 16, 16)
    masks, scores, low = p.predict_boxes(BOXES, hq_token_only=True, return_logits=True)
    assert masks.dtype == np.float32 and masks.shape == (3, H, W)
    ref = fp32.predict_boxes(BOXES, hq_token_only=True, return_logits=True)[0]
    # bf16 has ~3 significant digits: close to fp32, not equal.
    assert np.corrcoef(masks.ravel(), ref.ravel())[0, 1] > 0.95
    assert not np.array_equal(masks, ref)  # bf16 really ran
    assert all(not t.requires_grad for t in (p.features, p.interm_features))


def test_square_resize_mode_follows_the_authors_protocol(tiny_model, image):
    """square (asked for by name): bilinear 1024x1024 input truncated to uint8, per-axis box
    scaling of user boxes, 256->HxW bilinear logits."""
    import torch.nn.functional as F

    p = HQSamPredictor(tiny_model, resize_mode="square")
    p.set_image(image)
    logits, scores, low = p.predict_boxes(BOXES, hq_token_only=True, return_logits=True)
    assert logits.shape == (3, H, W)
    x = torch.as_tensor(image).permute(2, 0, 1)[None].float()
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the protocol resizes with one thread
    try:
        x = F.interpolate(x, (1024, 1024), mode="bilinear", align_corners=False)
    finally:
        torch.set_num_threads(before)
    x = x.to(torch.uint8).float()  # the authors' truncation
    boxes = torch.as_tensor(BOXES * np.array([1024 / W, 1024 / H] * 2), dtype=torch.float)
    with torch.no_grad():
        emb, interm = tiny_model.encode(tiny_model.preprocess(x[0])[None])
        want_low, want_iou = tiny_model.decode(emb, interm, boxes=boxes, hq_token_only=True)
        want = F.interpolate(want_low, (H, W), mode="bilinear", align_corners=False)[:, 0]
    assert_close_f32(low, want_low.numpy(), RTOL32_OTHER_KERNELS)
    assert_close_f32(logits, want.numpy(), RTOL32_OTHER_KERNELS)
    assert_close_f32(scores, want_iou[:, 0].numpy(), RTOL32_OTHER_KERNELS)
    with pytest.raises(ValueError, match="resize_mode"):
        HQSamPredictor(tiny_model, resize_mode="crop")


def _authors_predictors(model):
    """The authors' ``SamPredictor`` (segment_anything_hq) on ``model``'s weights and plain
    segment_anything's on its SAM weights: the references of each mask type."""
    import segment_anything

    theirs = authors_sam("test_vit")
    theirs.load_state_dict(model.state_dict(), strict=True)
    plain = build_plain_sam("test_vit")
    hq = set(model.hq_parameter_names())
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if k not in hq})
    return SamPredictor(theirs), segment_anything.SamPredictor(plain.eval())


def test_predict_boxes_multi_equals_the_authors_per_type(predictor, tiny_model, image):
    """``"hq"`` / ``"sum"``: the authors' predictor with / without hq_token_only; ``"sam"``:
    plain SAM's predictor -- all boxes in one batch there, in chunks of 2 here."""
    multi = predictor.predict_boxes_multi(BOXES, return_logits=True, batch_size=2)
    authors, plain = _authors_predictors(tiny_model)
    references = {
        "hq": (authors, {"hq_token_only": True}),
        "sum": (authors, {}),
        "sam": (plain, {}),
    }
    for ref, _ in references.values():
        ref.set_image(image)
    for t, (ref, kw) in references.items():
        boxes = ref.transform.apply_boxes_torch(torch.as_tensor(BOXES), (H, W))
        with torch.no_grad():
            masks, iou, low = ref.predict_torch(
                None, None, boxes, multimask_output=False, return_logits=True, **kw
            )
        for got, want in zip(multi[t], (masks[:, 0], iou[:, 0], low), strict=True):
            assert_close_f32(got, want.numpy(), RTOL32_OTHER_KERNELS, msg=t)
    empty = predictor.predict_boxes_multi(np.zeros((0, 4)), mask_types=("hq",))
    assert empty["hq"][0].shape == (0, H, W)


def test_image_batch_equals_one_at_a_time(tiny_model, image, predictor):
    """set_image_batch encodes the images in one pass; each image's answers equal
    set_image + predict of it alone (up to a batched conv's rounding)."""
    other = np.random.default_rng(1).integers(0, 256, (217, 161, 3), dtype=np.uint8)
    box, points, labels = BOXES[0], np.array([[50.0, 60.0], [100.0, 90.0]]), np.array([1, 0])
    p = HQSamPredictor(tiny_model)
    p.set_image_batch([image, other])
    assert p.is_batch and not p.is_image_set
    with pytest.raises(RuntimeError, match="predict_batch"):
        p.predict(box=box)
    got = p.predict_batch(
        point_coords_batch=[None, points],
        point_labels_batch=[None, labels],
        box_batch=[box, None],
        return_logits=True,
        hq_token_only=True,
    )
    single = HQSamPredictor(tiny_model)
    for i, (img, kw) in enumerate(
        [(image, {"box": box}), (other, {"point_coords": points, "point_labels": labels})]
    ):
        single.set_image(img)
        want = single.predict(**kw, return_logits=True, hq_token_only=True)
        for g, w in zip((got[0][i], got[1][i], got[2][i]), want, strict=True):
            assert g.shape == w.shape
            assert_close_f32(g, w, RTOL32_OTHER_KERNELS)
    assert got[0][1].shape == (1, 217, 161)
    with pytest.raises(ValueError, match="2 images"):
        p.predict_batch(box_batch=[box])
    with pytest.raises(ValueError, match="uint8"):
        p.set_image_batch([image, other.astype(np.float32)])
