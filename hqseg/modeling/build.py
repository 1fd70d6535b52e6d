"""segment_anything architectures of the HQ-SAM and Light HQ-SAM lines (random
weights, no file I/O): ViT and TinyViT encoders, the prompt encoder, SAM's and the HQ
mask decoder, put together as ``HQSam`` or a plain ``Sam``.

The line objects (:mod:`hqseg.modeling.lines`) call these; reading checkpoints is
:mod:`hqseg.modeling.checkpoint`'s job and building + loading the registry's.
"""

from __future__ import annotations

import warnings
from functools import partial

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

from hqseg.modeling.configs import (
    ENCODER_CONFIGS,
    IMAGE_SIZE,
    PATCH_SIZE,
    PROMPT_EMBED_DIM,
    TINYVIT_CONFIGS,
)
from hqseg.modeling.hq_mask_decoder import HQMaskDecoder
from hqseg.modeling.hq_sam import HQSam
from hqseg.modeling.model_types import resolve_model_type


def _decoder_transformer() -> TwoWayTransformer:
    """SAM's decoder transformer: depth 2, 8 heads, MLP 2048."""
    return TwoWayTransformer(depth=2, embedding_dim=PROMPT_EMBED_DIM, mlp_dim=2048, num_heads=8)


def build_hq_mask_decoder(*, vit_dim: int) -> HQMaskDecoder:
    """SAM's decoder configuration (two-way transformer depth 2, 8 heads) plus the HQ parts."""
    return HQMaskDecoder(
        transformer_dim=PROMPT_EMBED_DIM,
        transformer=_decoder_transformer(),
        vit_dim=vit_dim,
        iou_head_depth=3,
        iou_head_hidden_dim=256,
    )


def _prompt_encoder() -> PromptEncoder:
    grid = IMAGE_SIZE // PATCH_SIZE
    return PromptEncoder(
        embed_dim=PROMPT_EMBED_DIM,
        image_embedding_size=(grid, grid),
        input_image_size=(IMAGE_SIZE, IMAGE_SIZE),
        mask_in_chans=16,
    )


def vit_encoder(model_type: str) -> tuple[ImageEncoderViT, int]:
    """segment_anything's ViT of ``model_type`` and its width (the early feature's C)."""
    cfg = ENCODER_CONFIGS[model_type]
    encoder = ImageEncoderViT(
        depth=cfg.depth,
        embed_dim=cfg.embed_dim,
        img_size=IMAGE_SIZE,
        mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        num_heads=cfg.num_heads,
        patch_size=PATCH_SIZE,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=cfg.global_attn_indexes,
        window_size=cfg.window_size,
        out_chans=PROMPT_EMBED_DIM,
    )
    return encoder, cfg.vit_dim


def tinyvit_encoder(model_type: str) -> tuple[torch.nn.Module, int]:
    """The authors' TinyViT (``segment_anything_hq``; its keys are the checkpoints')."""
    with warnings.catch_warnings():  # timm's deprecation / registry-overwrite notices
        warnings.simplefilter("ignore")
        from segment_anything_hq.modeling.tiny_vit_sam import TinyViT

    cfg = TINYVIT_CONFIGS[model_type]
    encoder = TinyViT(
        img_size=IMAGE_SIZE,
        in_chans=3,
        num_classes=1000,
        embed_dims=list(cfg.embed_dims),
        depths=list(cfg.depths),
        num_heads=list(cfg.num_heads),
        window_sizes=list(cfg.window_sizes),
        mlp_ratio=4.0,
        drop_rate=0.0,
        drop_path_rate=0.0,
        use_checkpoint=False,
        mbconv_expand_ratio=4.0,
        local_conv_size=3,
        layer_lr_decay=0.8,
    )
    return encoder, cfg.vit_dim


def sam_like(encoder: torch.nn.Module, vit_dim: int, *, hq: bool) -> HQSam | Sam:
    """``HQSam`` (``hq``) or plain ``Sam`` around ``encoder`` (SAM's prompt encoder and
    decoder configuration; the HQ decoder fuses ``vit_dim``-channel early features)."""
    if hq:
        decoder = build_hq_mask_decoder(vit_dim=vit_dim)
        return HQSam(image_encoder=encoder, prompt_encoder=_prompt_encoder(), mask_decoder=decoder)
    decoder = MaskDecoder(transformer_dim=PROMPT_EMBED_DIM, transformer=_decoder_transformer())
    return Sam(
        image_encoder=encoder,
        prompt_encoder=_prompt_encoder(),
        mask_decoder=decoder,
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )


def build_plain_sam(model_type: str) -> Sam:
    """The plain base model (SAM's own decoder, random weights) with the image encoder of
    ``model_type``: the baseline for benchmarks and tests."""
    from hqseg.modeling.lines import line_for

    model_type = resolve_model_type(model_type)
    return line_for(model_type).build(model_type, hq=False)
