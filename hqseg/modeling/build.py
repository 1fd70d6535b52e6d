"""Architecture builders by model type, dispatched by line (random weights, no file I/O).

Reading checkpoints is :mod:`hqseg.modeling.checkpoint`'s job and building + loading is
:mod:`hqseg.modeling.registry`'s; this module knows nothing of file formats. Another line
(e.g. HQ-SAM 2) plugs in with :func:`register_line`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
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
from hqseg.modeling.model_types import MODEL_TYPES, resolve_model_type

LineBuilder = Callable[..., torch.nn.Module]
"""``builder(model_type, *, hq: bool) -> nn.Module``: random-weight model of one line."""

_LINE_BUILDERS: dict[str, LineBuilder] = {}


def register_line(line: str, builder: LineBuilder) -> None:
    """Register the architecture builder of ``line`` (see :data:`LineBuilder`)."""
    _LINE_BUILDERS[line] = builder


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


def _vit_encoder(model_type: str) -> tuple[ImageEncoderViT, int]:
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


def _tinyvit_encoder(model_type: str) -> tuple[torch.nn.Module, int]:
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


def _sam_like(encoder: torch.nn.Module, vit_dim: int, *, hq: bool) -> HQSam | Sam:
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


register_line("vit", lambda model_type, *, hq: _sam_like(*_vit_encoder(model_type), hq=hq))
register_line("tinyvit", lambda model_type, *, hq: _sam_like(*_tinyvit_encoder(model_type), hq=hq))


def _sam2_line(model_type: str, *, hq: bool) -> torch.nn.Module:
    """HQ-SAM 2 / plain SAM 2.1 on Meta's ``sam2`` (imported only when asked for)."""
    from hqseg.modeling.sam2_hq.build import build_sam2_architecture

    return build_sam2_architecture(model_type, hq=hq)


register_line("sam2", _sam2_line)


def build_model(model_type: str, *, hq: bool = True) -> torch.nn.Module:
    """A random-weight model of ``model_type`` (aliases accepted), in train mode.

    ``hq=False`` gives the plain base model with the same encoder (SAM / MobileSAM: a
    genuine segment_anything ``Sam`` with its own key names).

    Raises:
      ValueError: unknown model type, or a line whose builder is not installed.
    """
    model_type = resolve_model_type(model_type)
    line = MODEL_TYPES[model_type].line
    builder = _LINE_BUILDERS.get(line)
    if builder is None:
        raise ValueError(f"model type {model_type!r} (line {line}) is not available here")
    return builder(model_type, hq=hq)


def build_plain_sam(model_type: str) -> Sam:
    """The plain base model (SAM's own decoder, random weights) with the image encoder of
    ``model_type``: the baseline for benchmarks and tests."""
    return build_model(model_type, hq=False)
