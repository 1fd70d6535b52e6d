"""Model types of the HQ-SAM 2 line and how each maps onto a SAM 2.1 config (torch-free).

Each type names one of the ``sam2.1_hiera_*.yaml`` configs that ship inside Meta's
``sam2`` package (1.1.0) plus config overrides. ``test_hiera`` is not an official
model: a five-block Hiera of width 8 for CPU-fast tests; its image size,
prompt encoder and mask decoder are SAM 2.1's real ones (1024 input, 64x64x256 image
embedding, 256x256 logits).

This module imports neither torch nor ``sam2`` so that scripts that put another
``sam2`` package on ``sys.path`` (the authors' ``sam-hq2``) can import it.
"""

from __future__ import annotations

from typing import Any

SAM2_CONFIG_DIR = "configs/sam2.1"
"""Folder of the SAM 2.1 YAML configs inside the ``sam2`` package."""

# model type -> (YAML file in SAM2_CONFIG_DIR, dotted-key overrides)
_TRUNK = "model.image_encoder.trunk"
_NECK = "model.image_encoder.neck"

TEST_HIERA_OVERRIDES: dict[str, Any] = {
    f"{_TRUNK}.embed_dim": 8,
    f"{_TRUNK}.num_heads": 1,
    f"{_TRUNK}.stages": [1, 1, 2, 1],
    f"{_TRUNK}.global_att_blocks": [3],
    f"{_TRUNK}.window_spec": [8, 4, 16, 8],
    f"{_TRUNK}.window_pos_embed_bkg_spatial_size": [7, 7],
    f"{_NECK}.backbone_channel_list": [64, 32, 16, 8],
}
"""The ``test_hiera`` trunk and neck: Hiera widths 8/16/32/64, blocks 1/1/2/1, one
global-attention block (the 2nd of stage 3: the first block of a stage pools, and
Hiera's pooling blocks must be windowed).
The authors' golden script applies the same overrides to their HQ config."""

SAM2_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "sam2.1_hiera_t": ("sam2.1_hiera_t.yaml", {}),
    "sam2.1_hiera_s": ("sam2.1_hiera_s.yaml", {}),
    "sam2.1_hiera_b+": ("sam2.1_hiera_b+.yaml", {}),
    "sam2.1_hiera_l": ("sam2.1_hiera_l.yaml", {}),
    "test_hiera": ("sam2.1_hiera_t.yaml", TEST_HIERA_OVERRIDES),
}

SAM2_MODEL_TYPES = tuple(SAM2_CONFIGS)

DECODER_POSTPROCESSING: dict[str, Any] = {
    "model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability": True,
    "model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta": 0.05,
    "model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh": 0.98,
}
"""What ``sam2.build_sam.build_sam2(apply_postprocessing=True)`` (and the authors'
builder) adds: a single-mask request falls back to the best multimask token when the
single-mask token is unstable (SAM 2's inference behaviour)."""

HQ_MODULE_NAMES = ("hf_token", "hf_mlp", "embedding_maskfeature")
"""The HQ modules of the decoder; their 13 tensors are the checkpoint's extra
``sam_mask_decoder.*`` keys (177,152 values for every SAM 2.1 size)."""

# Trunk signature of each official size: (embed_dim, number of Hiera blocks).
TRUNK_SIGNATURES: dict[tuple[int, int], str] = {
    (96, 12): "sam2.1_hiera_t",
    (96, 16): "sam2.1_hiera_s",
    (112, 24): "sam2.1_hiera_b+",
    (144, 48): "sam2.1_hiera_l",
    (8, 5): "test_hiera",
}
