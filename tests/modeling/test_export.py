"""Export to the official layout and to transformers' SamHQModel key names, round-tripped."""

import pytest
import torch
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.errors import CheckpointError
from hqseg.modeling import build_hq_sam
from hqseg.modeling.transformers_keys import (
    from_transformers_state_dict,
    to_transformers_key,
    to_transformers_state_dict,
)

# A sample of SamHQModel's names (transformers' modeling_sam_hq.py), one per renaming rule.
KNOWN = {
    "image_encoder.patch_embed.proj.weight": "vision_encoder.patch_embed.projection.weight",
    "image_encoder.blocks.3.norm2.bias": "vision_encoder.layers.3.layer_norm2.bias",
    "image_encoder.blocks.1.attn.rel_pos_h": "vision_encoder.layers.1.attn.rel_pos_h",
    "image_encoder.neck.3.weight": "vision_encoder.neck.layer_norm2.weight",
    "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": (
        "shared_image_embedding.positional_embedding"
    ),
    "prompt_encoder.point_embeddings.2.weight": "prompt_encoder.point_embed.2.weight",
    "prompt_encoder.mask_downscaling.6.bias": "prompt_encoder.mask_embed.conv3.bias",
    "mask_decoder.transformer.layers.1.norm4.weight": (
        "mask_decoder.transformer.layers.1.layer_norm4.weight"
    ),
    "mask_decoder.transformer.norm_final_attn.bias": (
        "mask_decoder.transformer.layer_norm_final_attn.bias"
    ),
    "mask_decoder.output_upscaling.1.weight": "mask_decoder.upscale_layer_norm.weight",
    "mask_decoder.iou_prediction_head.layers.2.weight": (
        "mask_decoder.iou_prediction_head.proj_out.weight"
    ),
    "mask_decoder.output_hypernetworks_mlps.3.layers.1.bias": (
        "mask_decoder.output_hypernetworks_mlps.3.layers.0.bias"
    ),
    "mask_decoder.hf_token.weight": "mask_decoder.hq_token.weight",
    "mask_decoder.hf_mlp.layers.0.weight": "mask_decoder.hq_mask_mlp.proj_in.weight",
    "mask_decoder.compress_vit_feat.1.bias": "mask_decoder.compress_vit_norm.bias",
    "mask_decoder.embedding_encoder.3.weight": "mask_decoder.encoder_conv2.weight",
    "mask_decoder.embedding_maskfeature.0.weight": "mask_decoder.mask_conv1.weight",
}


@pytest.mark.parametrize(("ours", "theirs"), sorted(KNOWN.items()))
def test_known_transformers_names(ours, theirs):
    assert to_transformers_key(ours) == theirs


def test_transformers_round_trip(tiny_model):
    hf = to_transformers_state_dict(tiny_model)
    assert len(hf) == len(tiny_model.state_dict()) + 1  # the shared PE matrix twice
    assert "prompt_encoder.shared_embedding.positional_embedding" in hf
    assert not any(k.startswith(("image_encoder.", "mask_decoder.hf_")) for k in hf)
    back = from_transformers_state_dict(hf)
    want = tiny_model.state_dict()
    assert back.keys() == want.keys()
    assert all(torch.equal(back[k], want[k]) for k in want)


def test_transformers_unknown_key_is_named(tiny_model):
    hf = to_transformers_state_dict(tiny_model)
    hf["mask_decoder.something_new.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="something_new"):
        from_transformers_state_dict(hf)


def test_transformers_checkpoint_gets_a_hint(tmp_path, tiny_model):
    path = tmp_path / "hf.pth"
    torch.save(to_transformers_state_dict(tiny_model), path)
    with pytest.raises(CheckpointError, match="from_transformers_state_dict"):
        build_hq_sam("test_vit", checkpoint=path)


def test_loads_strictly_into_transformers_samhq(tiny_model):
    """Only where transformers is installed (not a project dependency)."""
    tf = pytest.importorskip("transformers")
    vision = tf.SamHQVisionConfig(
        hidden_size=64, num_hidden_layers=4, num_attention_heads=2, global_attn_indexes=[1]
    )
    hf = tf.SamHQModel(tf.SamHQConfig(vision_config=vision, mask_decoder_config={"vit_dim": 64}))
    hf.load_state_dict(to_transformers_state_dict(tiny_model), strict=True)
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(0))
    boxes = torch.tensor([[10.0, 20.0, 500.0, 600.0]])
    with torch.no_grad():
        emb, interm = tiny_model.encode(x)
        _, iou = tiny_model.decode(emb, interm, boxes=boxes)
        out = hf.eval()(pixel_values=x, input_boxes=boxes[None], multimask_output=False)
    # IoU predictions depend on the encoder, prompt encoder and two-way transformer.
    # (transformers' SamHQ mask decoder upscales the pre-transformer image embedding, so
    # its mask logits differ from the official package's; see the modeling report.)
    torch.testing.assert_close(out.iou_scores[0, :, 0], iou[:, 0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("fmt", ["official", "transformers"])
def test_export_cli_round_trip(tmp_path, tiny_checkpoint, tiny_model, fmt):
    out = tmp_path / f"export-{fmt}.pth"
    args = ["export", str(tiny_checkpoint), "--model-type", "test_vit", "--format", fmt]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    sd = torch.load(out, weights_only=True)
    if fmt == "transformers":
        sd = from_transformers_state_dict(sd)
    want = tiny_model.state_dict()
    assert sd.keys() == want.keys() and all(torch.equal(sd[k], want[k]) for k in want)


def test_export_cli_bad_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 10)
    result = CliRunner().invoke(
        main, ["export", str(bad), "--model-type", "test_vit", "--out", str(tmp_path / "o.pth")]
    )
    assert result.exit_code == 2
    assert "not a readable torch checkpoint" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.pth").exists()


def test_export_sam_plus_trained_hq_weights(tmp_path, tiny_model, tiny_checkpoint):
    """A SAM checkpoint + a 25-entry HQ file gives the full HQ-SAM checkpoint."""
    from hqseg.modeling import hq_state_dict
    from hqseg.modeling.checkpoint import HQ_PREFIXES, save_state_dict

    full = tiny_model.state_dict()
    sam_path, hq_path = tmp_path / "sam.pth", tmp_path / "hq.pth"
    save_state_dict({k: v for k, v in full.items() if not k.startswith(HQ_PREFIXES)}, sam_path)
    hq = {k.removeprefix("mask_decoder."): v for k, v in hq_state_dict(tiny_model).items()}
    save_state_dict(hq, hq_path)
    out = tmp_path / "merged.pth"
    args = ["export", str(sam_path), "--hq-weights", str(hq_path), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    sd = torch.load(out, weights_only=True)
    assert sd.keys() == full.keys() and all(torch.equal(sd[k], full[k]) for k in full)
    result = CliRunner().invoke(main, ["export", str(sam_path), "--out", str(out)])
    assert "untrained" in result.output
    result = CliRunner().invoke(
        main, ["export", str(sam_path), "--hq-weights", str(tiny_checkpoint), "--out", str(out)]
    )
    assert result.exit_code == 2 and "not an HQ-parameters file" in result.output
