"""Batched HQ evaluation (one encoder call per batch, images prepared in DataLoader
workers) equals one image at a time; the inference context restores the model's mode."""

from __future__ import annotations

import pytest
import torch
from evalfakes import make_record
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.evaluation.evaluator import inference_context
from hqseg.evaluation.heads import single_heads
from hqseg.evaluation.hq import HQInputs, resolve_protocol, run_hq_split
from hqseg.evaluation.protocol import split_features

pytestmark = pytest.mark.slow
BOXES = [(5, 5, 60, 40), (10, 3, 29, 20), (100, 80, 200, 250), (0, 0, 3, 3), (30, 30, 90, 90)]


@pytest.fixture(scope="module")
def model():
    from hqseg.modeling import build_hq_sam

    torch.manual_seed(0)
    return build_hq_sam("test_vit")


@pytest.fixture(scope="module")
def records():
    return [make_record(f"r/{i}", "dis_vd", 256, 200 + 8 * i, b) for i, b in enumerate(BOXES)]


def test_batched_logits_equal_one_at_a_time(model, records):
    proto = resolve_protocol(model)
    prepared = [item["prepared"] for item in HQInputs(records, proto, None, range(3))]
    batch = split_features(proto.encode(torch.cat([p.image for p in prepared])), 3)
    for p, features in zip(prepared, batch, strict=True):
        alone = proto.model.decode_boxes(proto.encode(p.image), p.box, ("hq", "sam"))
        together = proto.model.decode_boxes(features, p.box, ("hq", "sam"))
        for t in ("hq", "sam"):
            assert_close_f32(together[t][0], alone[t][0], rtol=RTOL32_OTHER_KERNELS)


def test_batched_rows_equal_one_at_a_time(model, records):
    kw = {"mask_types": ("hq", "sam"), "progress": False, "keep_masks": True}
    one = run_hq_split(model, records, **kw)
    batched = run_hq_split(model, records, batch_size=3, workers=2, **kw)
    assert [(r["id"], r["model"]) for r in batched.rows] == [
        (r["id"], r["model"]) for r in one.rows
    ]
    assert [s["id"] for s in batched.skipped] == [s["id"] for s in one.skipped]
    same = [(a, b) for a, b in zip(one.rows, batched.rows, strict=True) if a["rle"] == b["rle"]]
    assert len(same) >= len(one.rows) - 1  # rounding may flip a pixel of one mask at most
    for a, b in same:
        assert (a["iou_pct"], a["biou_pct"]) == (b["iou_pct"], b["biou_pct"])


def test_inference_context_restores_train_mode(model, records):
    model.train()
    with inference_context(model):
        assert not model.training and not any(m.training for m in model.modules())
    assert model.training and all(m.training for m in model.modules())
    run_hq_split(model, records[:1], progress=False)
    assert model.training


def test_one_decoder_call_per_image_for_all_prompts(fake_predictor, records):
    proto = resolve_protocol(fake_predictor)
    run_hq_split(proto, records[:3], mask_types=("hq", "sam"), batch_size=3, progress=False)
    assert fake_predictor.encoded == 3
    assert len(fake_predictor.calls) == 2 * 3  # one call per image and mask type
    assert single_heads(("hq",))[0].model == "hq_sam"
