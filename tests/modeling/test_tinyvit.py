"""Light HQ-SAM (TinyViT line): equality with the authors' package, checkpoints, export.

The small ``test_tinyvit`` configuration is built in both codes with identical weights;
the real ``vit_tiny`` is used only where its key layout matters (official export).
"""

import pytest
import torch
from authors_sam import authors_light_hq_sam
from tolerances import assert_close_f32

from hqseg.errors import CheckpointError
from hqseg.modeling import build_hq_sam, build_plain_sam, save_official_checkpoint

MODES = [(mm, hq) for mm in (False, True) for hq in (False, True)]


@pytest.fixture(scope="module")
def pair(perturb):
    torch.manual_seed(0)
    ours = perturb(build_hq_sam("test_tinyvit"), seed=4).eval()  # eval(): refresh TinyViT cache
    theirs = authors_light_hq_sam("test_tinyvit")
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours, theirs.eval()


@pytest.fixture(scope="module")
def encoded(pair):
    """Both encoders on one image: ((emb, early) ours, (emb, early) theirs)."""
    ours, theirs = pair
    gen = torch.Generator().manual_seed(3)
    image = theirs.preprocess((torch.rand(3, 1024, 768, generator=gen) * 255).round())[None]
    with torch.no_grad():
        emb, early = theirs.image_encoder(image)
        return ours.encode(image), (emb, early[0])


def test_encoder_and_early_feature_match(encoded):
    (emb, early), (want_emb, want_early) = encoded
    assert early.shape == (1, 64, 64, 48)  # stage layers[1] viewed as [B, 64, 64, C]
    assert_close_f32(emb, want_emb)
    assert_close_f32(early, want_early)


PROMPTS = {
    "box": {"boxes": torch.tensor([[100.0, 120.0, 600.0, 900.0], [10.0, 20.0, 300.0, 200.0]])},
    "points": {
        "point_coords": torch.tensor([[[300.0, 400.0], [500.0, 50.0]], [[50.0, 60.0], [9, 9]]]),
        "point_labels": torch.tensor([[1, 0], [1, 1]]),
    },
}


@pytest.mark.parametrize("prompt", sorted(PROMPTS))
@pytest.mark.parametrize(("multimask", "hq_only"), MODES)
def test_logits_match_authors(pair, encoded, prompt, multimask, hq_only):
    ours, theirs = pair
    (emb, early), (t_emb, t_early) = encoded
    p = PROMPTS[prompt]
    points = (p["point_coords"], p["point_labels"]) if "point_coords" in p else None
    with torch.no_grad():
        got, got_iou = ours.decode(
            emb, early, multimask_output=multimask, hq_token_only=hq_only, **p
        )
        sparse, dense = theirs.prompt_encoder(points=points, boxes=p.get("boxes"), masks=None)
        want, want_iou = theirs.mask_decoder(
            t_emb,
            theirs.prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            multimask,
            hq_only,
            [t_early],
        )
    assert got.shape == want.shape == (2, 1, 256, 256)
    assert_close_f32(got, want)
    assert_close_f32(got_iou, want_iou)


def test_whole_forward_matches_authors(pair):
    """End to end through both ``forward``s (one mode; the decoder modes are above)."""
    ours, theirs = pair
    gen = torch.Generator().manual_seed(5)
    record = {
        "image": (torch.rand(3, 768, 1024, generator=gen) * 255).round(),
        "original_size": (600, 800),
        "boxes": torch.tensor([[100.0, 120.0, 600.0, 500.0]]),
    }
    with torch.no_grad():
        got = ours([record], False, False)[0]
        want = theirs([record], False, False)[0]
    assert_close_f32(got["low_res_logits"], want["low_res_logits"])


def test_official_hq_and_mobilesam_checkpoints_load(tmp_path, pair):
    ours, _ = pair
    hq_path = tmp_path / "sam_hq_test_tinyvit.pth"
    save_official_checkpoint(ours, hq_path)
    loaded = build_hq_sam("test_tinyvit", checkpoint=hq_path)
    assert loaded.load_report.kind == "hq"
    sd = loaded.state_dict()
    assert all(torch.equal(sd[k], v) for k, v in ours.state_dict().items())
    # MobileSAM layout: segment_anything's Sam with the TinyViT and SAM's decoder only
    base = build_plain_sam("test_tinyvit")
    base_path = tmp_path / "mobile_sam.pt"
    torch.save(base.state_dict(), base_path)
    model = build_hq_sam(None, checkpoint=base_path)  # type inferred from the shapes
    assert model.load_report.kind == "sam" and model.load_report.model_type == "test_tinyvit"
    assert model.load_report.hq_initialised_fresh
    assert len(model.load_report.missing_keys) == 25
    msd = model.state_dict()
    assert all(torch.equal(msd[k], v) for k, v in base.state_dict().items())


def test_wrong_line_is_one_clear_error(tmp_path, pair, tiny_checkpoint):
    ours, _ = pair
    path = tmp_path / "light.pth"
    save_official_checkpoint(ours, path)
    with pytest.raises(CheckpointError, match="checkpoint is test_tinyvit .*TinyViT.*vit_tiny"):
        build_hq_sam("vit_tiny", checkpoint=path)
    with pytest.raises(CheckpointError, match="checkpoint is test_vit .*ViT of width 64"):
        build_hq_sam("test_tinyvit", checkpoint=tiny_checkpoint)


def test_cache_refreshed_after_loading_into_an_eval_model(pair):
    """FACTS 2b: TinyViT caches attention biases on eval(); loading must not leave them stale."""
    ours, _ = pair
    fresh = build_hq_sam("test_tinyvit")  # eval mode, other random weights
    fresh.load_state_dict(ours.state_dict())
    x = torch.rand(1, 3, 1024, 1024)
    with torch.no_grad():
        assert_close_f32(fresh.encode(x)[0], ours.encode(x)[0])


@pytest.mark.slow
def test_export_loads_in_authors_vit_tiny_builder(tmp_path):
    """Our official-format vit_tiny file loads with every key into sam_model_registry."""
    from segment_anything_hq import sam_model_registry

    path = tmp_path / "sam_hq_vit_tiny.pth"
    save_official_checkpoint(build_hq_sam("vit_tiny"), path)
    theirs = sam_model_registry["vit_tiny"]()
    result = theirs.load_state_dict(torch.load(path, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert build_hq_sam("vit_tiny", checkpoint=path).load_report.kind == "hq"
