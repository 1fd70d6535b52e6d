"""``export_checkpoint``: a checkpoint to the official layout, transformers' names or ONNX."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import torch

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import (
    Checkpoint,
    LoadReport,
    check_finite,
    load_hq_weights,
    save_state_dict,
)
from hqseg.modeling.lines import line_for
from hqseg.modeling.model_types import resolve_model_type

FORMATS = ("official", "transformers", "onnx")


def export_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    out: str | os.PathLike,
    *,
    model_type: str | None = None,
    fmt: Literal["official", "transformers", "onnx"] = "official",
    hq_weights: str | os.PathLike | None = None,
    multimask_output: bool = False,
    on_loaded: Callable[[torch.nn.Module], None] | None = None,
) -> LoadReport:
    """Convert a checkpoint (read once), written atomically to ``out``:

    * ``official``: the line's official file (HQ-SAM's flat ``sam_hq_vit_*.pth`` state
      dict, HQ-SAM 2's ``{"model": ...}``) that the authors' code loads;
    * ``transformers``: the same tensors under ``SamHQModel``'s key names (HQ-SAM line);
    * ``onnx``: prompt encoder + HQ mask decoder as an ONNX graph, every line
      (:func:`hqseg.modeling.onnx_export.export_onnx`; HQ-SAM 2's inputs:
      :mod:`hqseg.modeling.sam2_hq.onnx`).

    Arguments:
      checkpoint: an HQ checkpoint, or a base checkpoint plus ``hq_weights``.
      model_type: checked against the checkpoint; inferred from it when ``None``.
      hq_weights: a file with only the HQ parameters (e.g. a run's ``hq_only.pth``:
        HQ-SAM's 25 ``mask_decoder.*`` tensors, HQ-SAM 2's 13 ``sam_mask_decoder.*``;
        the decoder prefix may be left out) put over ``checkpoint``'s weights.
      multimask_output: ONNX only; see :func:`~hqseg.modeling.onnx_export.export_onnx`.
      on_loaded: called with the model once its weights are in (the CLI's start-up line).

    Returns the :class:`LoadReport` of reading ``checkpoint``.
    """
    from hqseg.modeling.registry import build_hq_sam

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    checkpoint = Checkpoint.read(checkpoint)
    model_type = resolve_model_type(model_type or checkpoint.model_type)
    line = line_for(model_type)
    if fmt == "transformers" and not line.transformers_names:
        raise CheckpointError(
            f"transformers' SamHQModel has only the HQ-SAM (ViT) line; {model_type} "
            f"({line.title}) cannot be exported to its key names (use --format official or onnx)"
        )
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
    elif fmt == "transformers":
        from hqseg.modeling.transformers_keys import to_transformers_state_dict

        save_state_dict(to_transformers_state_dict(line.official_state_dict(model)), out)
    else:
        line.save_official(model, out)
    return report
