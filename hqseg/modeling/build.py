"""Builders of HQ-SAM models by model type, in the style of ``sam_model_registry``."""

from __future__ import annotations

import os
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
    MODEL_TYPES,
    PATCH_SIZE,
    PROMPT_EMBED_DIM,
)
from hqseg.modeling.hq_mask_decoder import HQMaskDecoder
from hqseg.modeling.hq_sam import HQSam
from hqseg.modeling.sam2_hq.configs import SAM2_MODEL_TYPES


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


def build_plain_sam(model_type: str) -> Sam:
    """A genuine segment_anything ``Sam`` (random weights, SAM's own key names) with the
    image encoder of ``model_type``: the plain-SAM baseline for benchmarks and tests."""
    return _build_model(model_type, hq=False)


def _build_model(model_type: str, *, hq: bool = True) -> HQSam | Sam:
    cfg = ENCODER_CONFIGS[model_type]
    grid = IMAGE_SIZE // PATCH_SIZE
    if hq:
        model_cls, decoder = HQSam, build_hq_mask_decoder(vit_dim=cfg.embed_dim)
    else:
        decoder = MaskDecoder(transformer_dim=PROMPT_EMBED_DIM, transformer=_decoder_transformer())
        model_cls = Sam
    return model_cls(
        image_encoder=ImageEncoderViT(
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
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=PROMPT_EMBED_DIM,
            image_embedding_size=(grid, grid),
            input_image_size=(IMAGE_SIZE, IMAGE_SIZE),
            mask_in_chans=16,
        ),
        mask_decoder=decoder,
    )


def build_hq_sam(
    model_type: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    freeze_sam: bool = True,
) -> HQSam:
    """Build an HQ-SAM model in eval mode.

    Arguments:
      model_type: one of ``vit_b``, ``vit_l``, ``vit_h``, ``tiny``, or an HQ-SAM 2 type
        (``sam2.1_hiera_*``, ``test_hiera``: built by
        :func:`hqseg.modeling.sam2_hq.build_hq_sam2`, SAM 2 checkpoint layout).
      checkpoint: an official ``sam_hq_vit_*.pth`` (loaded strictly) or a plain SAM
        checkpoint (HQ parameters stay freshly initialised). ``model.load_report`` says
        which (see :class:`hqseg.modeling.checkpoint.LoadReport`).
      freeze_sam: leave only the HQ parameters trainable.

    Raises:
      CheckpointError: unreadable, foreign, partial or wrong-model-type checkpoint.
      ValueError: unknown model type.
    """
    from hqseg.modeling.checkpoint import (
        LoadReport,
        apply_state_dict,
        check_model_type,
        read_state_dict,
    )

    if model_type in SAM2_MODEL_TYPES:  # HQ-SAM 2 (SAM 2.1), imported only when asked for
        from hqseg.modeling.sam2_hq.build import build_hq_sam2

        return build_hq_sam2(model_type, checkpoint=checkpoint, freeze_sam=freeze_sam)
    if model_type not in ENCODER_CONFIGS:
        known = ", ".join((*MODEL_TYPES, *SAM2_MODEL_TYPES))
        raise ValueError(f"unknown model type {model_type!r}; known: {known}")
    state_dict = None
    if checkpoint is not None:
        # Read and check before building, so a wrong file fails fast and cheaply.
        state_dict = read_state_dict(checkpoint)
        check_model_type(state_dict, model_type, path=str(checkpoint))
    model = _build_model(model_type)
    if state_dict is None:
        model.load_report = LoadReport(kind="none", hq_initialised_fresh=True)
    else:
        model.load_report = apply_state_dict(model, state_dict, path=str(checkpoint))
    model.freeze_sam(freeze_sam)
    return model.eval()


hq_sam_model_registry: dict[str, Callable[..., HQSam]] = {
    name: partial(build_hq_sam, name) for name in (*MODEL_TYPES, *SAM2_MODEL_TYPES)
}
hq_sam_model_registry["default"] = hq_sam_model_registry["vit_h"]
