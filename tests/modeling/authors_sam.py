"""The authors' HQ-SAM (package ``segment-anything-hq``) built at any ViT configuration.

Their registry names only the official sizes (vit_b/l/h, vit_tiny); the equality tests
compare at the small ``test_vit`` configuration, which their own ``_build_sam`` makes
from its widths, depth, heads and global-attention blocks.
"""

from __future__ import annotations

import torch

from hqseg.modeling.configs import ENCODER_CONFIGS, TINYVIT_CONFIGS

try:  # the reference must be there: a missing package fails these tests, never skips them
    import segment_anything_hq.modeling as official
    from segment_anything_hq import SamPredictor, sam_model_registry
    from segment_anything_hq.build_sam import _build_sam
    from segment_anything_hq.modeling.tiny_vit_sam import TinyViT
except ImportError as exc:  # pragma: no cover - only without the test extra
    raise AssertionError(
        "the reference package segment-anything-hq is not installed; "
        "install the test extra: pip install -c constraints.txt -e '.[test]'"
    ) from exc

__all__ = [
    "SamPredictor",
    "authors_decoder",
    "authors_light_hq_sam",
    "authors_sam",
    "official",
    "sam_model_registry",
]


def authors_decoder(vit_dim: int) -> torch.nn.Module:
    """Their ``MaskDecoderHQ`` reading an early ViT feature ``vit_dim`` wide."""
    return official.MaskDecoderHQ(
        num_multimask_outputs=3,
        transformer=official.TwoWayTransformer(
            depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8
        ),
        transformer_dim=256,
        iou_head_depth=3,
        iou_head_hidden_dim=256,
        vit_dim=vit_dim,
    )


def authors_sam(model_type: str) -> torch.nn.Module:
    """Their ``Sam`` (ViT encoder + HQ decoder) at hqseg's ``model_type`` ViT configuration,
    random weights, eval mode, made by their own builder (window 14, as every ViT type);
    the official types (Light HQ-SAM's ``vit_tiny`` too) come from their registry."""
    if model_type in sam_model_registry:
        return sam_model_registry[model_type]().eval()
    cfg = ENCODER_CONFIGS[model_type]
    assert cfg.window_size == 14, "their builder fixes the window"
    args = (cfg.embed_dim, cfg.depth, cfg.num_heads, list(cfg.global_attn_indexes))
    return _build_sam(*args).eval()


def authors_light_hq_sam(model_type: str) -> torch.nn.Module:
    """Their ``build_sam_vit_t`` architecture (Light HQ-SAM) with hqseg's ``model_type``
    TinyViT configuration, random weights (train mode, as their builder leaves it)."""
    cfg = TINYVIT_CONFIGS[model_type]
    encoder = TinyViT(
        img_size=1024, in_chans=3, num_classes=1000, embed_dims=list(cfg.embed_dims),
        depths=list(cfg.depths), num_heads=list(cfg.num_heads),
        window_sizes=list(cfg.window_sizes), mlp_ratio=4.0, drop_rate=0.0,
        drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0,
        local_conv_size=3, layer_lr_decay=0.8,
    )  # fmt: skip
    return official.Sam(
        image_encoder=encoder,
        prompt_encoder=official.PromptEncoder(
            embed_dim=256,
            image_embedding_size=(64, 64),
            input_image_size=(1024, 1024),
            mask_in_chans=16,
        ),
        mask_decoder=authors_decoder(cfg.vit_dim),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
