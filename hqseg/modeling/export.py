"""``export_checkpoint``: a checkpoint to the official layout, transformers' names or ONNX."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import torch

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import (
    LoadReport,
    check_finite,
    infer_model_type,
    load_hq_weights,
    official_state_dict,
    read_state_dict,
    save_state_dict,
)
from hqseg.modeling.model_types import MODEL_TYPES, resolve_model_type

FORMATS = ("official", "transformers", "onnx")


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model_type: str | None = None,
    fmt: Literal["official", "transformers", "onnx"] = "official",
    hq_weights: str | os.PathLike | None = None,
    multimask_output: bool = False,
    on_loaded: Callable[[torch.nn.Module], None] | None = None,
) -> LoadReport:
    """Convert a checkpoint, written atomically to ``out``:

    * ``official``: the flat ``sam_hq_vit_*.pth`` state dict the authors' code loads;
    * ``transformers``: the same tensors under ``SamHQModel``'s key names (ViT line only);
    * ``onnx``: prompt encoder + HQ mask decoder as an ONNX graph, every line
      (:func:`hqseg.modeling.onnx_export.export_onnx`; HQ-SAM 2's inputs:
      :mod:`hqseg.modeling.sam2_hq.onnx`).

    Arguments:
      checkpoint: an HQ checkpoint, or a base checkpoint plus ``hq_weights``.
      model_type: checked against the checkpoint; inferred from it when ``None``.
      hq_weights: a file with the 25 HQ entries (e.g. from training) put over
        ``checkpoint``'s weights.
      multimask_output: ONNX only; see :func:`~hqseg.modeling.onnx_export.export_onnx`.
      on_loaded: called with the model once its weights are in (the CLI's start-up line).

    Returns the :class:`LoadReport` of reading ``checkpoint``.
    """
    from hqseg.modeling.registry import build_hq_sam

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if model_type is None:
        model_type = infer_model_type(read_state_dict(checkpoint), path=str(checkpoint))
    model_type = resolve_model_type(model_type)
    if fmt == "transformers" and MODEL_TYPES[model_type].line != "vit":
        raise CheckpointError(
            f"transformers' SamHQModel has only the ViT line; {model_type} cannot be exported "
            "to its key names (use --format official or onnx)"
        )
    line = MODEL_TYPES[model_type].line
    model = build_hq_sam(model_type, checkpoint=checkpoint)
    report = model.load_report
    if hq_weights is not None:
        load_hq_weights(model, hq_weights)
        report.hq_initialised_fresh = False
    check_finite(model.state_dict(), str(hq_weights or checkpoint))
    if on_loaded is not None:
        on_loaded(model)
    if fmt == "onnx":
        from hqseg.modeling.onnx_export import export_onnx

        export_onnx(model.eval(), out, multimask_output=multimask_output)
        return report
    if line == "sam2":  # the authors' {"model": state_dict} layout of sam2.1_hq_hiera_*.pt
        from hqseg.modeling.sam2_hq import save_official_checkpoint

        save_official_checkpoint(model, out)
        return report
    sd = official_state_dict(model)
    if fmt == "transformers":
        from hqseg.modeling.transformers_keys import to_transformers_state_dict

        sd = to_transformers_state_dict(sd)
    save_state_dict(sd, out)
    return report
