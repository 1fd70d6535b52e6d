"""Equality with the authors' package ``segment-anything-hq`` (same weights, same inputs)."""

import pytest
import torch
from authors_sam import authors_decoder, authors_sam, sam_model_registry
from tolerances import assert_close_f32

from hqseg.modeling import build_hq_sam
from hqseg.modeling.build import build_hq_mask_decoder

MODES = [(mm, hq) for mm in (False, True) for hq in (False, True)]


@pytest.mark.parametrize("model_type", ["vit_b", "vit_l", "vit_h"])
def test_official_sizes_have_the_authors_keys_and_shapes(model_type):
    """Every state-dict key and shape of the official sizes equals the authors' registry
    build: widths, depths and which blocks attend globally (their rel-pos tables span the
    64-token grid, windowed ones 2*14-1). Built on the meta device: no memory, no time."""
    with torch.device("meta"):
        theirs = sam_model_registry[model_type]()
        ours = build_hq_sam(model_type)
    shapes = [{k: tuple(v.shape) for k, v in m.state_dict().items()} for m in (ours, theirs)]
    assert shapes[0] == shapes[1]


@pytest.fixture(scope="module")
def decoder_pair(perturb):
    """Ours and the official decoder for a vit_b-wide early feature, identical weights."""
    torch.manual_seed(1)
    ours = perturb(build_hq_mask_decoder(vit_dim=768), seed=1).eval()
    theirs = authors_decoder(768).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize(("multimask", "hq_only"), MODES)
def test_decoder_matches_official(decoder_pair, multimask, hq_only):
    ours, theirs = decoder_pair
    gen = torch.Generator().manual_seed(2)
    emb = torch.randn(1, 256, 64, 64, generator=gen)
    interm = torch.randn(1, 64, 64, 768, generator=gen)
    pe = torch.randn(1, 256, 64, 64, generator=gen)
    sparse = torch.randn(3, 2, 256, generator=gen)
    dense = torch.randn(3, 256, 64, 64, generator=gen)
    with torch.no_grad():
        m1, i1 = ours(emb, pe, sparse, dense, multimask, hq_only, interm)
        m2, i2 = theirs(emb, pe, sparse, dense, multimask, hq_only, [interm])
    assert m1.shape == m2.shape == (3, 1, 256, 256)
    assert i1.shape == i2.shape == (3, 1)
    assert_close_f32(m1, m2)
    assert_close_f32(i1, i2)


@pytest.fixture(scope="module")
def model_pair(tiny_model):
    theirs = authors_sam("test_vit")
    theirs.load_state_dict(tiny_model.state_dict(), strict=True)
    return tiny_model, theirs


@pytest.fixture(scope="module")
def one_image():
    gen = torch.Generator().manual_seed(3)
    image = (torch.rand(3, 1024, 768, generator=gen) * 255).round()
    return {
        "image": image,
        "original_size": (1200, 900),
        "boxes": torch.tensor([[100.0, 120.0, 600.0, 900.0], [10.0, 20.0, 300.0, 200.0]]),
        "point_coords": torch.tensor([[[300.0, 400.0]], [[50.0, 60.0]]]),
        "point_labels": torch.tensor([[1], [1]]),
    }


@pytest.fixture(scope="module")
def official_outputs(model_pair, one_image):
    _, theirs = model_pair
    with torch.no_grad():
        return {mode: theirs([one_image], *mode)[0] for mode in MODES}


@pytest.mark.parametrize(("multimask", "hq_only"), MODES)
def test_whole_model_matches_official(model_pair, one_image, official_outputs, multimask, hq_only):
    ours, _ = model_pair
    with torch.no_grad():
        got = ours([one_image], multimask, hq_only)[0]
    want = official_outputs[(multimask, hq_only)]
    assert_close_f32(got["low_res_logits"], want["low_res_logits"])
    assert_close_f32(got["iou_predictions"], want["iou_predictions"])
    assert got["masks"].shape == want["masks"].shape == (2, 1, 1200, 900)
    # Bool masks may flip only where the logit is within float noise of 0.
    assert (got["masks"] != want["masks"]).float().mean() < 1e-4


def test_modes_differ(official_outputs):
    """Guard against a comparison that cannot fail: the modes give different outputs
    (the HQ mask alone does not depend on multimask; only its reported IoU does)."""
    distinct = [(False, False), (True, False), (False, True)]
    logits = [official_outputs[m]["low_res_logits"] for m in distinct]
    for i in range(len(logits)):
        for j in range(i + 1, len(logits)):
            assert not torch.allclose(logits[i], logits[j], atol=1e-3)
    ious = [official_outputs[m]["iou_predictions"] for m in [(False, True), (True, True)]]
    assert not torch.allclose(*ious, atol=1e-4)
