"""``build_hq_sam2``: HQ-SAM 2 by model type, from the SAM 2.1 configs in ``sam2``."""

from __future__ import annotations

import os

from hqseg.modeling.sam2_hq.configs import SAM2_CONFIGS, SAM2_MODEL_TYPES

_TARGET = "hqseg.modeling.sam2_hq.model.HQSam2"
_PLAIN_TARGET = "sam2.modeling.sam2_base.SAM2Base"


def _check_type(model_type: str) -> None:
    if model_type not in SAM2_CONFIGS:
        raise ValueError(
            f"unknown HQ-SAM 2 model type {model_type!r}; known: {', '.join(SAM2_MODEL_TYPES)}"
        )


def build_sam2_architecture(model_type: str, *, hq: bool = True):
    """Random-weight HQ-SAM 2 (``hq``) or plain SAM 2.1 of ``model_type``, train mode."""
    from hydra.utils import instantiate

    from hqseg.modeling.sam2_hq.compose import model_config

    _check_type(model_type)
    target = _TARGET if hq else _PLAIN_TARGET
    return instantiate(model_config(model_type, target=target).model, _recursive_=True)


def build_hq_sam2(
    model_type: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    freeze_sam: bool = True,
):
    """Build an HQ-SAM 2 model (:class:`hqseg.modeling.sam2_hq.HQSam2`) in eval mode: the
    HQ-SAM 2 line's :meth:`~hqseg.modeling.lines.base.ModelLine.load`.

    Arguments:
      model_type: ``sam2.1_hiera_t``, ``sam2.1_hiera_s``, ``sam2.1_hiera_b+``,
        ``sam2.1_hiera_l`` or ``test_hiera`` (tests only).
      checkpoint: the authors' ``sam2.1_hq_hiera_*.pt`` (loaded strictly) or Meta's
        ``sam2.1_hiera_*.pt`` (HQ parameters stay fresh), a path or a
        :class:`~hqseg.modeling.checkpoint.Checkpoint`; ``model.load_report`` says which.
      freeze_sam: leave only the HQ parameters trainable.

    Raises:
      CheckpointError: unreadable, foreign or wrong-model-type checkpoint.
      ValueError: unknown model type.
    """
    from hqseg.modeling.checkpoint import read_checkpoint
    from hqseg.modeling.lines.hq_sam2 import HQ_SAM2

    _check_type(model_type)
    return HQ_SAM2.load(model_type, checkpoint=read_checkpoint(checkpoint), freeze_sam=freeze_sam)
