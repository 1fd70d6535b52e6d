"""``build_hq_sam`` and ``hq_sam_model_registry``: build a model type and load its weights.

This is where the builder (:mod:`hqseg.modeling.build`, architecture only) meets the
checkpoint readers (:mod:`hqseg.modeling.checkpoint`); neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import torch

from hqseg.modeling.build import build_model
from hqseg.modeling.checkpoint import (
    LoadReport,
    apply_state_dict,
    check_model_type,
    infer_model_type,
    read_state_dict,
    register_type_inference,
)
from hqseg.modeling.model_types import MODEL_TYPE_NAMES, line_of, resolve_model_type
from hqseg.modeling.sam2_hq.checkpoint import infer_sam2_type

register_type_inference(infer_sam2_type)


def build_hq_sam(
    model_type: str | None,
    *,
    checkpoint: str | os.PathLike | None = None,
    freeze_sam: bool = True,
) -> torch.nn.Module:
    """Build an HQ model in eval mode.

    Arguments:
      model_type: a name of :data:`hqseg.modeling.model_types.MODEL_TYPES` (``vit_b``,
        ``vit_l``, ``vit_h``, ``vit_tiny``, ``test_vit``, ``test_tinyvit``, ...); the
        deprecated ``tiny`` warns and means ``test_vit``. ``None``: inferred from
        ``checkpoint``'s shapes.
      checkpoint: the official HQ checkpoint (``sam_hq_vit_*.pth``; loaded strictly) or
        the plain base checkpoint (``sam_vit_*.pth``, ``mobile_sam.pt``; HQ parameters
        stay freshly initialised). ``model.load_report`` says which
        (:class:`~hqseg.modeling.checkpoint.LoadReport`); ``model.model_type`` is the
        type built (inferred or given).
      freeze_sam: leave only the HQ parameters trainable.

    Raises:
      CheckpointError: unreadable, foreign, partial or wrong-model-type checkpoint.
      ValueError: unknown model type.
    """
    if model_type is None and checkpoint is None:
        raise ValueError("give a model type or a checkpoint to infer it from")
    if model_type is not None:
        model_type = resolve_model_type(model_type)
    state_dict = None
    if checkpoint is not None:
        # Read and check before building, so a wrong file fails fast and cheaply.
        state_dict = read_state_dict(checkpoint)
        if model_type is None:
            model_type = infer_model_type(state_dict, path=str(checkpoint))
    if line_of(model_type) == "sam2":  # SAM 2 checkpoint layout and loading rules
        from hqseg.modeling.sam2_hq.build import build_hq_sam2

        model = build_hq_sam2(
            model_type, checkpoint=checkpoint, freeze_sam=freeze_sam, state_dict=state_dict
        )
        model.model_type = model_type
        return model
    if state_dict is not None:
        check_model_type(state_dict, model_type, path=str(checkpoint))
    model = build_model(model_type)
    if state_dict is None:
        model.load_report = LoadReport(kind="none", hq_initialised_fresh=True)
    else:
        model.load_report = apply_state_dict(model, state_dict, path=str(checkpoint))
    model.freeze_sam(freeze_sam)
    model.model_type = model_type  # what was built (the start-up line names it)
    # eval() after loading: TinyViT caches its attention biases on eval() (FACTS 2b).
    return model.eval()


hq_sam_model_registry: dict[str, Callable[..., torch.nn.Module]] = {
    name: partial(build_hq_sam, name) for name in MODEL_TYPE_NAMES
}
hq_sam_model_registry["default"] = hq_sam_model_registry["vit_h"]
