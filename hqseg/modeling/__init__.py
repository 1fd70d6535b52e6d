"""HQ-SAM, Light HQ-SAM and HQ-SAM 2 on top of segment_anything and sam2.

* :mod:`~hqseg.modeling.model_types` -- every model type and its line (torch-free);
* :class:`ModelLine` objects (:mod:`~hqseg.modeling.lines`) -- one per line: building,
  HQ keys, checkpoint inference / loading / saving, ONNX graph, predictor;
  :func:`line_for` gives a model type's;
* :class:`HQModel` -- the typed interface of every line's model;
* :class:`HQMaskDecoder` -- segment_anything's ``MaskDecoder`` plus the HQ output token
  and global-local fusion;
* :class:`HQSam` -- segment_anything's ``Sam`` with ``encode`` / ``decode`` and the early
  image feature (ViT or TinyViT encoder);
* :data:`hq_sam_model_registry` / :func:`build_hq_sam` -- builders by model type
  (``vit_b/l/h``, ``vit_tiny`` = Light HQ-SAM, test configurations), loading official HQ
  checkpoints or plain base ones (SAM, MobileSAM, SAM 2.1), read once
  (:class:`Checkpoint`);
* :class:`HQSamPredictor` -- set an image once, predict for many prompts / boxes;
* export to the official layout, to transformers' ``SamHQModel`` names and to ONNX.

Attributes are imported lazily, so ``import hqseg.modeling.model_types`` stays torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "build_plain_sam": "build",
    "Checkpoint": "checkpoint",
    "LoadReport": "checkpoint",
    "hq_state_dict": "checkpoint",
    "load_hq_state": "checkpoint",
    "load_hq_weights": "checkpoint",
    "official_state_dict": "checkpoint",
    "read_checkpoint": "checkpoint",
    "read_state_dict": "checkpoint",
    "save_official_checkpoint": "checkpoint",
    "ENCODER_CONFIGS": "configs",
    "TINYVIT_CONFIGS": "configs",
    "export_checkpoint": "export",
    "HQMaskDecoder": "hq_mask_decoder",
    "select_masks": "hq_mask_decoder",
    "HQSam": "hq_sam",
    "LINES": "lines",
    "ModelLine": "lines",
    "infer_model_type": "lines",
    "line_of_model": "lines",
    "MODEL_TYPES": "model_types",
    "MODEL_TYPE_NAMES": "model_types",
    "line_for": "model_types",
    "resolve_model_type": "model_types",
    "export_onnx": "onnx_export",
    "HQSamPredictor": "predictor",
    "HQModel": "protocol",
    "build_hq_sam": "registry",
    "hq_sam_model_registry": "registry",
    "from_transformers_state_dict": "transformers_keys",
    "to_transformers_state_dict": "transformers_keys",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
