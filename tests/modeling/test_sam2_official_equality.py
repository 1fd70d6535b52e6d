"""HQ-SAM 2 equals the authors' sam-hq2 code (golden outputs, tests/fixtures/sam2hq_golden.pt).

The fixture was made by ``tests/fixtures/make_sam2hq_golden.py`` with the authors' code
on the ``test_hiera`` configuration and name-seeded weights; here hqseg's model gets
the same weights and must give the same low-res logits and IoUs, up to float32 rounding at
their scale (tests/tolerances.py: the fixture was made on another CPU), for boxes and
points in all four modes (multimask x hq_token_only).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tolerances import assert_close_f32, float32_tol

from hqseg.modeling.sam2_hq import build_hq_sam2, fill_seeded

GOLDEN = Path(__file__).parents[1] / "fixtures" / "sam2hq_golden.pt"


@pytest.fixture(scope="module")
def golden():
    return torch.load(GOLDEN, weights_only=True)


@pytest.fixture(scope="module")
def encoded(golden):
    torch.manual_seed(0)
    model = build_hq_sam2(golden["meta"]["model_type"])
    values = fill_seeded(model, golden["meta"]["seed"])
    image = golden["image_small"].repeat_interleave(8, 0).repeat_interleave(8, 1)
    with torch.no_grad():
        features = model.encode(model.preprocess(image.permute(2, 0, 1)[None].float()))
    return model, values, features


def test_same_weights_as_the_authors_model(golden, encoded):
    _, values, _ = encoded
    sums = golden["weight_sums"]
    assert set(values) == set(sums)
    for name, value in values.items():
        # float64 sums of the same float32 values, only the order may differ (≈1e-16
        # relative); one changed weight moves a sum by ≫ 1e-9
        assert float(value.double().sum()) == pytest.approx(sums[name], rel=1e-9, abs=1e-9), name


@pytest.mark.parametrize("kind", ["box", "points"])
@pytest.mark.parametrize("multimask", [False, True])
@pytest.mark.parametrize("hq_token_only", [False, True])
def test_logits_and_ious_equal_the_authors(golden, encoded, kind, multimask, hq_token_only):
    model, _, (embed, high_res) = encoded
    key = f"{kind}/multimask={int(multimask)}/hq_token_only={int(hq_token_only)}"
    want = golden["outputs"][key]
    prompt = (
        {"boxes": golden["boxes"]}
        if kind == "box"
        else {"point_coords": golden["points"], "point_labels": golden["point_labels"]}
    )
    with torch.no_grad():
        logits, iou = model.decode_official(
            embed, high_res, multimask_output=multimask, hq_token_only=hq_token_only, **prompt
        )
    assert tuple(logits.shape) == tuple(want["shape"].tolist())
    stride = golden["meta"]["stride"]
    assert_close_f32(iou, want["iou"])
    assert_close_f32(logits[..., ::stride, ::stride], want["logits_sub"])
    # the per-mask sums (in float64) of float32 logits: each pixel within its float32 bound
    pixels = logits.shape[-1] * logits.shape[-2]
    atol = float32_tol(want["logits_sub"])["atol"] * pixels
    full = logits.double()
    torch.testing.assert_close(full.sum((-1, -2)), want["sum"], atol=atol, rtol=0)
    torch.testing.assert_close(full.abs().sum((-1, -2)), want["abs_sum"], atol=atol, rtol=0)
