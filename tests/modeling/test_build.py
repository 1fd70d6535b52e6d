"""Builder registry, HQ parameter names/shapes and the trainable count with freeze_sam."""

import pytest
import torch

from hqseg.modeling import HQMaskDecoder, HQSam, build_hq_sam, hq_sam_model_registry

# FACTS §2: the 25 HQ keys (C = ViT width) and their shapes.
HQ_SHAPES = {
    "hf_token.weight": lambda c: (1, 256),
    "hf_mlp.layers.0.weight": lambda c: (256, 256),
    "hf_mlp.layers.0.bias": lambda c: (256,),
    "hf_mlp.layers.1.weight": lambda c: (256, 256),
    "hf_mlp.layers.1.bias": lambda c: (256,),
    "hf_mlp.layers.2.weight": lambda c: (32, 256),
    "hf_mlp.layers.2.bias": lambda c: (32,),
    "compress_vit_feat.0.weight": lambda c: (c, 256, 2, 2),
    "compress_vit_feat.0.bias": lambda c: (256,),
    "compress_vit_feat.1.weight": lambda c: (256,),
    "compress_vit_feat.1.bias": lambda c: (256,),
    "compress_vit_feat.3.weight": lambda c: (256, 32, 2, 2),
    "compress_vit_feat.3.bias": lambda c: (32,),
    "embedding_encoder.0.weight": lambda c: (256, 64, 2, 2),
    "embedding_encoder.0.bias": lambda c: (64,),
    "embedding_encoder.1.weight": lambda c: (64,),
    "embedding_encoder.1.bias": lambda c: (64,),
    "embedding_encoder.3.weight": lambda c: (64, 32, 2, 2),
    "embedding_encoder.3.bias": lambda c: (32,),
    "embedding_maskfeature.0.weight": lambda c: (64, 32, 3, 3),
    "embedding_maskfeature.0.bias": lambda c: (64,),
    "embedding_maskfeature.1.weight": lambda c: (64,),
    "embedding_maskfeature.1.bias": lambda c: (64,),
    "embedding_maskfeature.3.weight": lambda c: (32, 64, 3, 3),
    "embedding_maskfeature.3.bias": lambda c: (32,),
}
TRAINABLE = {"vit_b": (768, 1_071_104), "vit_l": (1024, 1_333_248), "vit_h": (1280, 1_595_392)}


@pytest.mark.parametrize("model_type", sorted(TRAINABLE))
def test_hq_keys_and_trainable_count(model_type):
    width, count = TRAINABLE[model_type]
    with torch.device("meta"):  # no memory for vit_h's 640M parameters
        model = build_hq_sam(model_type, freeze_sam=True)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    hq = {n.removeprefix("mask_decoder."): shapes[n] for n in model.hq_parameter_names()}
    assert hq == {k: f(width) for k, f in HQ_SHAPES.items()}
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == count
    assert sum(p.numel() for p in model.hq_parameters()) == count
    assert model.early_block_index == {"vit_b": 2, "vit_l": 5, "vit_h": 7}[model_type]


def test_unfrozen_model_trains_everything():
    model = build_hq_sam("test_vit", freeze_sam=False)
    assert all(p.requires_grad for p in model.parameters())
    model.freeze_sam()
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names == set(model.hq_parameter_names())


def test_registry_keys_and_types():
    assert {"vit_b", "vit_l", "vit_h", "test_vit"} <= set(hq_sam_model_registry)
    model = hq_sam_model_registry["test_vit"]()
    assert isinstance(model, HQSam) and isinstance(model.mask_decoder, HQMaskDecoder)
    assert not model.training
    with pytest.raises(ValueError, match="unknown model type 'vit_x'.*vit_b"):
        build_hq_sam("vit_x")


def test_encode_decode_shapes(tiny_model):
    images = torch.randn(2, 3, 1024, 1024)
    with torch.no_grad():
        emb, interm = tiny_model.encode(images)
        assert emb.shape == (2, 256, 64, 64) and interm.shape == (2, 64, 64, 64)
        boxes = torch.tensor([[10.0, 20.0, 500.0, 400.0], [0.0, 0.0, 1000.0, 1000.0]])
        logits, iou = tiny_model.decode(emb, interm, boxes=boxes, hq_token_only=True)
        assert logits.shape == (2, 1, 256, 256) and iou.shape == (2, 1)
        pts = torch.tensor([[[100.0, 100.0], [300.0, 50.0]]] * 2)
        labels = torch.tensor([[1, 0]] * 2)
        logits2, _ = tiny_model.decode(
            emb, interm, point_coords=pts, point_labels=labels, mask_inputs=logits
        )
        assert logits2.shape == (2, 1, 256, 256)


def test_early_feature_is_first_global_block_output(tiny_model):
    """The hook captures exactly block[global_attn_indexes[0]]'s output, and is removed."""
    enc = tiny_model.image_encoder
    x = torch.randn(1, 3, 1024, 1024)
    with torch.no_grad():
        _, interm = tiny_model.encode(x)
        y = enc.patch_embed(x) + enc.pos_embed
        for blk in enc.blocks[: tiny_model.early_block_index + 1]:
            y = blk(y)
    torch.testing.assert_close(interm, y)
    assert not enc.blocks[tiny_model.early_block_index]._forward_hooks


def test_decoder_hq_gets_gradients_with_frozen_sam(tiny_model):
    model = build_hq_sam("test_vit")
    with torch.no_grad():
        emb, interm = model.encode(torch.randn(1, 3, 1024, 1024))
    logits, _ = model.decode(
        emb, interm, boxes=torch.tensor([[0.0, 0.0, 512.0, 512.0]]), hq_token_only=True
    )
    logits.mean().backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    assert grads == set(model.hq_parameter_names())
