"""``build_hq_sam`` and ``hq_sam_model_registry``: build a model type and load its weights.

The checkpoint is read once (:class:`~hqseg.modeling.checkpoint.Checkpoint`); its model
type, when not given, comes from that read; the model type's line
(:func:`~hqseg.modeling.model_types.line_for`) builds and loads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import torch

from hqseg.modeling.checkpoint import Checkpoint, read_checkpoint
from hqseg.modeling.lines import line_for
from hqseg.modeling.model_types import MODEL_TYPE_NAMES, resolve_model_type


def build_hq_sam(
    model_type: str | None,
    *,
    checkpoint: str | os.PathLike | Checkpoint | None = None,
    freeze_sam: bool = True,
) -> torch.nn.Module:
    """Build an HQ model (an :class:`~hqseg.modeling.protocol.HQModel`) in eval mode.

    Arguments:
      model_type: a name of :data:`hqseg.modeling.model_types.MODEL_TYPES` (``vit_b``,
        ``vit_l``, ``vit_h``, ``vit_tiny``, ``sam2.1_hiera_l``, ``test_vit``, ...); the
        deprecated ``tiny`` warns and means ``test_vit``. ``None``: inferred from
        ``checkpoint``'s shapes.
      checkpoint: the official HQ checkpoint (``sam_hq_vit_*.pth``, ...; loaded
        strictly) or the plain base checkpoint (``sam_vit_*.pth``, ``mobile_sam.pt``,
        ``sam2.1_hiera_*.pt``; HQ parameters stay freshly initialised), as a path or a
        :class:`Checkpoint` already read (then the file is not read again; its state
        dict is released once loaded). ``model.load_report`` says which
        (:class:`~hqseg.modeling.checkpoint.LoadReport`); ``model.model_type`` is the
        type built (inferred or given), ``model.line`` its line.
      freeze_sam: leave only the HQ parameters trainable.

    Raises:
      CheckpointError: unreadable, foreign, partial or wrong-model-type checkpoint.
      ValueError: unknown model type.
    """
    if model_type is None and checkpoint is None:
        raise ValueError("give a model type or a checkpoint to infer it from")
    if model_type is not None:
        model_type = resolve_model_type(model_type)
    # Read and check before building, so a wrong file fails fast and cheaply.
    checkpoint = read_checkpoint(checkpoint)
    if model_type is None:
        model_type = checkpoint.model_type
    model = line_for(model_type).load(model_type, checkpoint=checkpoint, freeze_sam=freeze_sam)
    if checkpoint is not None:
        checkpoint.release()
    return model


hq_sam_model_registry: dict[str, Callable[..., torch.nn.Module]] = {
    name: partial(build_hq_sam, name) for name in MODEL_TYPE_NAMES
}
hq_sam_model_registry["default"] = hq_sam_model_registry["vit_h"]
