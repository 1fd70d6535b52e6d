"""HQ-SAM on top of segment_anything.

* :class:`HQMaskDecoder` -- segment_anything's ``MaskDecoder`` plus the HQ output token
  and global-local fusion;
* :class:`HQSam` -- segment_anything's ``Sam`` with ``encode`` / ``decode`` and an
  early-feature hook on the ViT;
* :data:`hq_sam_model_registry` / :func:`build_hq_sam` -- builders for ``vit_b``,
  ``vit_l``, ``vit_h`` and ``tiny``, loading official HQ-SAM or plain SAM checkpoints;
* :class:`HQSamPredictor` -- set an image once, predict for many prompts / boxes;
* checkpoint export to the official layout and to transformers' ``SamHQModel`` names.
"""

from hqseg.modeling.build import build_hq_sam, build_plain_sam, hq_sam_model_registry
from hqseg.modeling.checkpoint import (
    LoadReport,
    apply_state_dict,
    export_checkpoint,
    hq_state_dict,
    load_checkpoint,
    load_hq_weights,
    read_state_dict,
    save_official_checkpoint,
)
from hqseg.modeling.configs import ENCODER_CONFIGS, MODEL_TYPES
from hqseg.modeling.hq_mask_decoder import HQMaskDecoder, select_masks
from hqseg.modeling.hq_sam import HQSam
from hqseg.modeling.predictor import HQSamPredictor
from hqseg.modeling.transformers_keys import (
    from_transformers_state_dict,
    to_transformers_state_dict,
)

__all__ = [
    "ENCODER_CONFIGS",
    "MODEL_TYPES",
    "HQMaskDecoder",
    "HQSam",
    "HQSamPredictor",
    "LoadReport",
    "apply_state_dict",
    "build_hq_sam",
    "build_plain_sam",
    "export_checkpoint",
    "from_transformers_state_dict",
    "hq_sam_model_registry",
    "hq_state_dict",
    "load_checkpoint",
    "load_hq_weights",
    "read_state_dict",
    "save_official_checkpoint",
    "select_masks",
    "to_transformers_state_dict",
]
