"""The authors' HQ-SAM (package ``segment-anything-hq``) built at any ViT configuration.

Their registry names only the official sizes (vit_b/l/h, vit_tiny); the equality tests
compare at the small ``test_vit`` configuration, which their own ``_build_sam`` makes
from its widths, depth, heads and global-attention blocks.
"""

from __future__ import annotations

import torch

from hqseg.modeling.configs import ENCODER_CONFIGS

try:  # the reference must be there: a missing package fails these tests, never skips them
    import segment_anything_hq.modeling as official
    from segment_anything_hq import SamPredictor, sam_model_registry
    from segment_anything_hq.build_sam import _build_sam
except ImportError as exc:  # pragma: no cover - only without the test extra
    raise AssertionError(
        "the reference package segment-anything-hq is not installed; "
        "install the test extra: pip install -c constraints.txt -e '.[test]'"
    ) from exc

__all__ = ["SamPredictor", "authors_decoder", "authors_sam", "official", "sam_model_registry"]


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
