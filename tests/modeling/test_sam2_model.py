"""HQ-SAM 2 (test_hiera): HQ parameters, HQSam's interface, the authors' output modes,
checkpoints (official HQ strictly, plain SAM 2.1 with HQ fresh, wrong type -> one error)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.errors import CheckpointError
from hqseg.modeling import (
    HQSamPredictor,
    build_hq_sam,
    hq_sam_model_registry,
    save_official_checkpoint,
)
from hqseg.modeling.sam2_hq import (
    SAM2_MODEL_TYPES,
    build_hq_sam2,
    fill_seeded,
    pack_high_res,
    unpack_high_res,
)
from hqseg.training import model_api

BOXES = torch.tensor([[100.0, 150.0, 600.0, 700.0], [300.0, 50.0, 1000.0, 900.0]])


@pytest.fixture(scope="module")
def model():
    m = build_hq_sam2("test_hiera")
    fill_seeded(m, 1)
    return m.eval()


@pytest.fixture(scope="module")
def features(model):
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 3, 1024, 1024)))
    with torch.no_grad():
        return model.encode(model.preprocess(image.float()))


def test_model_types_are_registered():
    assert set(SAM2_MODEL_TYPES) == {
        "sam2.1_hiera_t",
        "sam2.1_hiera_s",
        "sam2.1_hiera_b+",
        "sam2.1_hiera_l",
        "test_hiera",
    }
    assert set(SAM2_MODEL_TYPES) <= set(hq_sam_model_registry)


def test_only_the_13_hq_tensors_train(model):
    fresh = build_hq_sam("test_hiera")  # through the registry's dispatch
    trainable = [n for n, p in fresh.named_parameters() if p.requires_grad]
    assert trainable == fresh.hq_parameter_names()
    assert len(trainable) == 13
    assert sum(p.numel() for p in fresh.hq_parameters()) == 177_152
    assert all(n.startswith("sam_mask_decoder.") for n in trainable)


def test_high_res_packing_is_lossless():
    s0, s1 = torch.randn(2, 32, 256, 256), torch.randn(2, 64, 128, 128)
    packed = pack_high_res(s0, s1)
    assert packed.shape == (2, 48, 256, 256)
    back = unpack_high_res(packed, 32)
    assert torch.equal(back[0], s0) and torch.equal(back[1], s1)


def test_encode_shapes(features):
    embed, high_res = features
    assert embed.shape == (1, 256, 64, 64) and high_res.shape == (1, 48, 256, 256)


def test_decode_types_follow_hq_sam_rules(model, features):
    embed, high_res = features
    with torch.no_grad():
        masks, iou = model.decode_all(embed, high_res, boxes=BOXES)
        plain, plain_iou = model.decode_plain(embed, high_res, boxes=BOXES)
        out = {
            t: model.decode(embed, high_res, boxes=BOXES, mask_type=t) for t in ("sam", "hq", "sum")
        }
        multi, multi_iou = model.decode(
            embed, high_res, boxes=BOXES, multimask_output=True, mask_type="sum"
        )
    assert masks.shape == (2, 5, 256, 256) and iou.shape == (2, 4)
    assert plain.shape == (2, 4, 256, 256) and plain_iou.shape == (2, 4)
    assert_close_f32(out["sam"][0], plain[:, 0:1], RTOL32_OTHER_KERNELS)
    assert_close_f32(out["hq"][0], masks[:, 4:5], RTOL32_OTHER_KERNELS)
    assert_close_f32(out["sum"][0], masks[:, 0:1] + masks[:, 4:5], RTOL32_OTHER_KERNELS)
    best = iou[:, 1:].argmax(1) + 1
    rows = torch.arange(2)
    assert_close_f32(multi[:, 0], masks[rows, best] + masks[:, 4], RTOL32_OTHER_KERNELS)
    assert_close_f32(multi_iou[:, 0], iou[rows, best], RTOL32_OTHER_KERNELS)
    # the HQ token takes part in the attention: the HQ pass's SAM tokens are not plain SAM 2.1
    assert not torch.allclose(plain[:, 1:], masks[:, 1:4])


@pytest.fixture(scope="module")
def meta_plain(model):
    """Meta's plain ``SAM2Base`` holding ``model``'s SAM 2.1 weights."""
    from hydra.utils import instantiate

    from hqseg.modeling.sam2_hq.compose import model_config

    plain = instantiate(
        model_config("test_hiera", target="sam2.modeling.sam2_base.SAM2Base").model,
        _recursive_=True,
    )
    sd = {k: v for k, v in model.state_dict().items() if k in plain.state_dict()}
    plain.load_state_dict(sd, strict=True)
    return plain.eval()


def test_sam_mask_type_is_meta_sam2_itself(model, meta_plain):
    """mask_type="sam" equals Meta's SAM2ImagePredictor on a plain SAM2Base with the same
    weights (the baseline is SAM 2.1, not the HQ pass's SAM tokens)."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    image = np.random.default_rng(2).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    meta = SAM2ImagePredictor(meta_plain)
    meta.set_image(image)
    ours = HQSamPredictor(model, resize_mode="square")
    ours.set_image(image)
    for multimask in (False, True):
        _, meta_iou, meta_low = meta.predict(
            box=BOXES.numpy(), multimask_output=multimask, return_logits=True
        )
        _, iou, low = ours.predict_boxes(
            BOXES.numpy(), mask_type="sam", multimask_output=multimask, return_logits=True
        )
        if multimask:
            best = meta_iou.argmax(1)
            meta_low = meta_low[np.arange(2), best][:, None]
            meta_iou = meta_iou[np.arange(2), best][:, None]
        assert_close_f32(low, meta_low, RTOL32_OTHER_KERNELS)
        assert_close_f32(iou, meta_iou[:, 0], RTOL32_OTHER_KERNELS)


@pytest.fixture(scope="module")
def non_square(model, meta_plain):
    """(hqseg's default predictor, Meta's SAM2ImagePredictor), both set to one 301x1117
    image."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    image = np.random.default_rng(4).integers(0, 256, (301, 1117, 3), dtype=np.uint8)
    pair = HQSamPredictor(model), SAM2ImagePredictor(meta_plain)
    for predictor in pair:
        predictor.set_image(image)
    return pair


@pytest.mark.parametrize(
    "prompt",
    [
        {"box": np.array([30.5, 40.25, 700.0, 290.0])},
        {"point_coords": np.array([[100.0, 100.3], [500.5, 200.0]]), "point_labels": [1, 0]},
        {"box": np.array([30.5, 40.25, 700.0, 290.0]), "point_coords": [[100.0, 100.3]],
         "point_labels": [1], "mask_input": True},
    ],
    ids=["box", "points", "box_points_mask"],
)  # fmt: skip
def test_default_predictor_baseline_equals_metas_on_a_non_square_image(non_square, prompt):
    """mask_type "sam" of the default predictor is Meta's ``SAM2ImagePredictor`` on plain
    SAM 2.1: full-size logits, low-res logits and IoU, on a 301x1117 image (one side
    upsampled, the other downsampled), both multimask settings."""
    ours, meta = non_square
    assert ours.resize_mode == "sam2"
    for multimask in (False, True):
        kw = dict(prompt, multimask_output=multimask, return_logits=True)
        if kw.pop("mask_input", None):  # Meta's best low-res box answer fed back
            _, iou, low = meta.predict(box=prompt["box"], multimask_output=multimask)
            kw["mask_input"] = low[int(iou.argmax())][None]
        want = meta.predict(**kw)
        best = int(want[1].argmax())  # ours returns Meta's highest-IoU mask
        got = ours.predict(**kw, mask_type="sam")
        for g, w in zip(got, want, strict=True):
            assert_close_f32(g[0], w[best])


def test_protocol_normalises_like_sam2(model):
    """The HQ protocol's input for HQ-SAM 2 is SAM 2's normalisation of the square uint8
    image (the predictor's model interface gives mean/std in 0..255 units)."""
    from hqseg.evaluation.protocol import HQProtocol
    from hqseg.modeling.input_frames import square_image

    image = np.random.default_rng(3).integers(0, 256, (61, 83, 3), dtype=np.uint8)
    mask = np.zeros((61, 83), np.uint8)
    mask[10:40, 20:70] = 255
    prepared = HQProtocol(HQSamPredictor(model)).prepare(image, mask)
    want = model.preprocess(square_image(image, 1024).float())[None]
    assert_close_f32(prepared.image, want)


def test_one_image_for_many_prompts_equals_a_batch(model, features):
    embed, high_res = features
    with torch.no_grad():
        shared = model.decode(embed, high_res, boxes=BOXES)[0]
        batched = model.decode(
            embed.expand(2, -1, -1, -1), high_res.expand(2, -1, -1, -1), boxes=BOXES
        )[0]
    assert_close_f32(shared, batched, RTOL32_OTHER_KERNELS)


@pytest.mark.parametrize(
    ("multimask", "hq_only", "n_masks", "n_ious"),
    [(False, False, 1, 1), (False, True, 1, 1), (True, False, 3, 3), (True, True, 1, 3)],
)
def test_authors_output_modes(model, features, multimask, hq_only, n_masks, n_ious):
    embed, high_res = features
    points = torch.tensor([[[500.0, 500.0], [200.0, 300.0]]] * 2)
    labels = torch.tensor([[1, 0]] * 2)
    with torch.no_grad():
        logits, iou = model.decode_official(
            embed,
            high_res,
            point_coords=points,
            point_labels=labels,
            multimask_output=multimask,
            hq_token_only=hq_only,
        )
        all_masks, _ = model.decode_all(embed, high_res, point_coords=points, point_labels=labels)
    assert logits.shape == (2, n_masks, 256, 256) and iou.shape == (2, n_ious)
    assert logits.abs().max() <= 32
    if multimask and not hq_only:  # HQ logits added to each SAM multimask logit
        want = (all_masks[:, 1:4] + all_masks[:, 4:5]).clamp(-32, 32)
        assert_close_f32(logits, want, RTOL32_OTHER_KERNELS)


def test_mask_prompt_and_box_with_points(model, features):
    embed, high_res = features
    with torch.no_grad():
        low, _ = model.decode(embed, high_res, mask_inputs=torch.randn(2, 1, 256, 256))
        both, _ = model.decode(
            embed,
            high_res,
            boxes=BOXES,
            point_coords=torch.full((2, 1, 2), 400.0),
            point_labels=torch.ones(2, 1, dtype=torch.int),
        )
    assert low.shape == both.shape == (2, 1, 256, 256)


def test_predictor_takes_the_model(model):
    predictor = HQSamPredictor(model, resize_mode="square")
    image = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    predictor.set_image(image)
    masks, scores, low = predictor.predict_boxes(np.array([[10, 20, 200, 250]]), hq_token_only=True)
    assert masks.shape == (1, 300, 400) and scores.shape == (1,) and low.shape == (1, 1, 256, 256)
    assert np.abs(low).max() <= 32


def test_official_checkpoint_round_trip_and_plain_sam2(model, features, tmp_path):
    embed, high_res = features
    path = tmp_path / "sam2.1_hq_test_hiera.pt"
    save_official_checkpoint(model, path)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"model"}
    hq_keys = [
        k
        for k in payload["model"]
        if k.startswith("sam_mask_decoder.hf_")
        or k.startswith("sam_mask_decoder.embedding_maskfeature.")
    ]
    assert len(hq_keys) == 13
    loaded = build_hq_sam2("test_hiera", checkpoint=path)
    assert loaded.load_report.kind == "hq" and not loaded.load_report.hq_initialised_fresh
    with torch.no_grad():
        want = model.decode(embed, high_res, boxes=BOXES)[0]
        got = loaded.decode(embed, high_res, boxes=BOXES)[0]
    assert torch.equal(want, got)

    plain = tmp_path / "sam2.1_hiera_test.pt"
    torch.save({"model": {k: v for k, v in payload["model"].items() if k not in hq_keys}}, plain)
    base = build_hq_sam2("test_hiera", checkpoint=plain)
    assert base.load_report.kind == "sam" and base.load_report.hq_initialised_fresh
    assert sorted(base.load_report.missing_keys) == sorted(hq_keys)
    with torch.no_grad():  # plain SAM 2.1's mask is the checkpoint's, whatever the HQ weights
        assert_close_f32(
            base.decode(embed, high_res, boxes=BOXES, mask_type="sam")[0],
            model.decode(embed, high_res, boxes=BOXES, mask_type="sam")[0],
        )


def test_wrong_checkpoints_are_one_clear_error(model, tmp_path):
    sd = model.state_dict()
    other = dict(sd)
    other["image_encoder.trunk.pos_embed"] = torch.zeros(1, 96, 7, 7)
    for i in range(5, 12):
        other[f"image_encoder.trunk.blocks.{i}.norm1.weight"] = torch.zeros(96)
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": other}, path)
    with pytest.raises(
        CheckpointError, match="looks like SAM 2.1 HQ sam2.1_hiera_t, not a test_hiera"
    ):
        build_hq_sam2("test_hiera", checkpoint=path)

    vit = tmp_path / "sam_hq_tiny.pth"
    torch.save(build_hq_sam("tiny").state_dict(), vit)
    with pytest.raises(CheckpointError, match=r"looks like SAM / HQ-SAM \(ViT\)"):
        model_api.build_model("test_hiera", str(vit))

    partial = tmp_path / "partial.pt"
    torch.save({"model": {k: v for k, v in sd.items() if "sam_prompt_encoder" not in k}}, partial)
    with pytest.raises(CheckpointError, match="missing"):
        build_hq_sam2("test_hiera", checkpoint=partial)


def test_unknown_type_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        build_hq_sam2("sam2.1_hiera_xl")


def test_hqseg_export_writes_the_sam2_layout_and_onnx(tmp_path):
    """`hqseg export` of an HQ-SAM 2 checkpoint: official = the authors' {"model": ...}
    layout (reloads as HQ); onnx = a decoder graph that onnxruntime loads and runs with
    SAM 2's feature inputs (its equality with torch: test_sam2_onnx.py)."""
    import onnxruntime as ort
    from click.testing import CliRunner

    from hqseg.cli import main

    src = tmp_path / "hq.pt"
    save_official_checkpoint(build_hq_sam("test_hiera"), src)
    out = tmp_path / "out.pt"
    result = CliRunner().invoke(
        main, ["export", str(src), "--format", "official", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert set(torch.load(out, weights_only=True)) == {"model"}
    assert build_hq_sam("test_hiera", checkpoint=out).load_report.kind == "hq"
    onnx_path = tmp_path / "o.onnx"
    result = CliRunner().invoke(
        main, ["export", str(src), "--format", "onnx", "--out", str(onnx_path)]
    )
    assert result.exit_code == 0, result.output
    assert "onnx format" in result.output
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names[:3] == ["image_embed", "high_res_feats_0", "high_res_feats_1"]
    shapes = [(1, 256, 64, 64), (1, 32, 256, 256), (1, 64, 128, 128)]
    feeds = {n: np.zeros(s, np.float32) for n, s in zip(names, shapes, strict=False)}
    feeds["point_coords"] = np.array([[[10.0, 20.0], [300.0, 400.0], [500.0, 600.0]]], np.float32)
    feeds["point_labels"] = np.array([[1.0, 2.0, 3.0]], np.float32)
    feeds["mask_input"] = np.zeros((1, 1, 256, 256), np.float32)
    feeds["has_mask_input"] = np.zeros(1, np.float32)
    masks_hq, masks_sum, iou = session.run(None, feeds)
    assert masks_hq.shape == masks_sum.shape == (1, 1, 256, 256) and iou.shape == (1, 1)
    assert np.isfinite(masks_sum).all()
