"""Loading official HQ-SAM, plain SAM and bad checkpoints; the official export layout."""

import pickle

import pytest
import torch
from segment_anything.modeling import (
    Sam,
)

from hqseg.errors import CheckpointError
from hqseg.modeling import build_hq_sam, build_plain_sam, hq_state_dict, read_state_dict


def plain_sam_tiny() -> Sam:
    """A genuine segment_anything ``Sam`` with the tiny encoder (its own key names)."""
    return build_plain_sam("test_vit")


def assert_same(a: dict, b: dict, keys) -> None:
    for k in keys:
        assert torch.equal(a[k], b[k]), k


def test_official_hq_checkpoint_loads_strictly(tiny_model, tiny_checkpoint):
    model = build_hq_sam("test_vit", checkpoint=tiny_checkpoint)
    report = model.load_report
    assert report.kind == "hq"
    assert not report.hq_initialised_fresh
    assert report.model_type == "test_vit"
    assert report.missing_keys == [] and report.unexpected_keys == []
    want = tiny_model.state_dict()
    assert_same(model.state_dict(), want, want)


def test_plain_sam_checkpoint_leaves_hq_fresh(tmp_path, perturb):
    sam = perturb(plain_sam_tiny(), seed=5)
    path = tmp_path / "sam_vit_tiny.pth"
    torch.save(sam.state_dict(), path)
    model = build_hq_sam("test_vit", checkpoint=path)
    report = model.load_report
    assert report.kind == "sam" and report.hq_initialised_fresh
    assert len(report.missing_keys) == 25
    assert set(report.missing_keys) == set(model.hq_parameter_names())
    assert_same(model.state_dict(), sam.state_dict(), sam.state_dict())
    assert "25 HQ parameters initialised fresh" in str(report)


def test_no_checkpoint_report():
    model = build_hq_sam("test_vit")
    assert model.load_report.kind == "none" and model.load_report.hq_initialised_fresh


def test_wrapped_and_ddp_prefixed_state_dicts(tmp_path, tiny_model):
    sd = {f"module.{k}": v for k, v in tiny_model.state_dict().items()}
    path = tmp_path / "wrapped.pth"
    torch.save({"model": sd, "epoch": torch.tensor(3)}, path)
    assert read_state_dict(path).keys() == tiny_model.state_dict().keys()
    assert build_hq_sam("test_vit", checkpoint=path).load_report.kind == "hq"


def expect_error(path, match, model_type="test_vit"):
    with pytest.raises(CheckpointError, match=match) as info:
        build_hq_sam(model_type, checkpoint=path)
    assert str(path) in str(info.value)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"this is not a checkpoint at all\x00\x01" * 50)
    expect_error(path, "not a readable torch checkpoint")


def test_truncated_file(tmp_path, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(data[: len(data) // 2])
    expect_error(path, "truncated")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.pth", "not found")


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": pickle.dumps, "image_encoder.w": torch.zeros(1)}, path)
    expect_error(path, "refused to load.*code or Python objects that are not tensors.*pickle")
    from hqseg.errors import CheckpointError
    from hqseg.modeling.checkpoint import safe_torch_load

    with pytest.raises(CheckpointError) as err:
        safe_torch_load(path)
    assert "weights_only=False" not in str(err.value) and "add_safe_globals" not in str(err.value)


def test_foreign_state_dict(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.bias": torch.zeros(10)}, path)
    expect_error(path, "foreign state dict.*conv1.weight")


def test_decoder_only_checkpoint(tmp_path, tiny_model):
    path = tmp_path / "epoch_11.pth"
    torch.save(tiny_model.mask_decoder.state_dict(), path)
    expect_error(path, "mask-decoder-only")


def test_wrong_model_type(tiny_checkpoint):
    expect_error(tiny_checkpoint, "checkpoint is test_vit .*width 64.* model type vit_b", "vit_b")


def test_partial_hq_checkpoint(tmp_path, tiny_model):
    sd = tiny_model.state_dict()
    del sd["mask_decoder.hf_mlp.layers.2.bias"]
    path = tmp_path / "partial.pth"
    torch.save(sd, path)
    expect_error(path, "partial HQ-SAM checkpoint.*hf_mlp.layers.2.bias")


def test_missing_sam_key_and_unexpected_key(tmp_path, tiny_model):
    sd = tiny_model.state_dict()
    del sd["prompt_encoder.point_embeddings.0.weight"]
    sd["mask_decoder.extra.weight"] = torch.zeros(1)
    path = tmp_path / "odd.pth"
    torch.save(sd, path)
    expect_error(path, "missing prompt_encoder.point_embeddings.0.weight; unexpected mask_decoder")


def test_shape_mismatch(tmp_path, tiny_model):
    sd = tiny_model.state_dict()
    sd["mask_decoder.hf_token.weight"] = torch.zeros(2, 256)
    path = tmp_path / "shapes.pth"
    torch.save(sd, path)
    expect_error(path, r"shape mismatch: mask_decoder.hf_token.weight \(2, 256\)")


def test_hq_state_dict_has_the_25_keys(tiny_model):
    hq = hq_state_dict(tiny_model)
    assert len(hq) == 25
    assert sorted(hq) == sorted(tiny_model.hq_parameter_names())


def test_official_package_loads_our_export(tiny_checkpoint, tiny_model):
    """The exported file has exactly the official layout: segment_anything_hq loads it strictly."""
    from segment_anything_hq import modeling as official  # test extra: fails if missing

    sd = torch.load(tiny_checkpoint, weights_only=True)
    decoder = official.MaskDecoderHQ(
        transformer_dim=256,
        transformer=official.TwoWayTransformer(
            depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8
        ),
        vit_dim=64,
    )
    prefix = "mask_decoder."
    decoder.load_state_dict(
        {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}, strict=True
    )
    assert sd.keys() == tiny_model.state_dict().keys()


def test_pixel_normalisation_buffers_are_ignored(tmp_path, tiny_model):
    sd = dict(tiny_model.state_dict())
    sd["pixel_mean"], sd["pixel_std"] = tiny_model.pixel_mean, tiny_model.pixel_std
    path = tmp_path / "with_buffers.pth"
    torch.save(sd, path)
    report = build_hq_sam("test_vit", checkpoint=path).load_report
    assert report.kind == "hq" and report.unexpected_keys == ["pixel_mean", "pixel_std"]
