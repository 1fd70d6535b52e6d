"""HQ-SAM 2: the HQ token on Meta's SAM 2.1 (the ``sam2`` package).

* :func:`build_hq_sam2` -- build by model type (:data:`SAM2_MODEL_TYPES`), loading the
  authors' ``sam2.1_hq_hiera_*.pt`` or Meta's ``sam2.1_hiera_*.pt``;
* :class:`HQSam2` -- ``SAM2Base`` with ``encode`` / ``decode`` / ``decode_all`` like
  :class:`hqseg.modeling.HQSam`, so training, the predictor and evaluation take it;
* :class:`HQSam2MaskDecoder` -- ``sam2``'s ``MaskDecoder`` plus ``hf_token``, ``hf_mlp``
  and ``embedding_maskfeature``;

Its checkpoints (the authors' ``{"model": state_dict}`` layout), type inference and
ONNX graph choice belong to the line object, :mod:`hqseg.modeling.lines.hq_sam2`.

Names that need ``sam2`` (and torch) are imported on first use, so the torch-free
:mod:`.configs` can be imported alone.
"""

from __future__ import annotations

import importlib

from hqseg.modeling.sam2_hq.configs import HQ_MODULE_NAMES, SAM2_MODEL_TYPES

_LAZY = {
    "build_hq_sam2": "build",
    "HQSam2": "model",
    "HQSam2MaskDecoder": "mask_decoder",
    "pack_high_res": "model",
    "unpack_high_res": "model",
    "fill_seeded": "seeded",
}

__all__ = ["HQ_MODULE_NAMES", "SAM2_MODEL_TYPES", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
