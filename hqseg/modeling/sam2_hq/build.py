"""``build_hq_sam2``: HQ-SAM 2 by model type, from the SAM 2.1 configs in ``sam2``."""

from __future__ import annotations

import os

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import LoadReport
from hqseg.modeling.sam2_hq.configs import SAM2_CONFIGS, SAM2_MODEL_TYPES

_TARGET = "hqseg.modeling.sam2_hq.model.HQSam2"
_PLAIN_TARGET = "sam2.modeling.sam2_base.SAM2Base"


def build_sam2_architecture(model_type: str, *, hq: bool = True):
    """Random-weight HQ-SAM 2 (``hq``) or plain SAM 2.1 of ``model_type``, train mode."""
    from hydra.utils import instantiate

    from hqseg.modeling.sam2_hq.compose import model_config

    if model_type not in SAM2_CONFIGS:
        raise ValueError(
            f"unknown HQ-SAM 2 model type {model_type!r}; known: {', '.join(SAM2_MODEL_TYPES)}"
        )
    target = _TARGET if hq else _PLAIN_TARGET
    return instantiate(model_config(model_type, target=target).model, _recursive_=True)


def build_hq_sam2(
    model_type: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    freeze_sam: bool = True,
    state_dict: dict | None = None,
):
    """Build an HQ-SAM 2 model (:class:`hqseg.modeling.sam2_hq.HQSam2`) in eval mode.

    Arguments:
      model_type: ``sam2.1_hiera_t``, ``sam2.1_hiera_s``, ``sam2.1_hiera_b+``,
        ``sam2.1_hiera_l`` or ``test_hiera`` (tests only).
      checkpoint: the authors' ``sam2.1_hq_hiera_*.pt`` (loaded strictly) or Meta's
        ``sam2.1_hiera_*.pt`` (HQ parameters stay fresh); ``model.load_report`` says which.
      freeze_sam: leave only the HQ parameters trainable.
      state_dict: ``checkpoint`` already read with ``read_state_dict`` (a caller that
        looked at it first); the file is then not read again.

    Raises:
      CheckpointError: unreadable, foreign or wrong-model-type checkpoint.
      ValueError: unknown model type.
    """
    from hqseg.modeling.checkpoint import read_state_dict
    from hqseg.modeling.sam2_hq.checkpoint import describe, load_into

    if model_type not in SAM2_CONFIGS:
        raise ValueError(
            f"unknown HQ-SAM 2 model type {model_type!r}; known: {', '.join(SAM2_MODEL_TYPES)}"
        )
    if checkpoint is not None:
        if state_dict is None:
            state_dict = read_state_dict(checkpoint)
        # A cheap look before building: a file of another size fails fast.
        looks_like = describe(state_dict)
        if looks_like.startswith("SAM 2") and not looks_like.endswith(f" {model_type}"):
            raise CheckpointError(
                f"{checkpoint}: looks like {looks_like}, not a {model_type} checkpoint"
            )
    model = build_sam2_architecture(model_type, hq=True)
    if checkpoint is None:
        model.load_report = LoadReport(kind="none", hq_initialised_fresh=True)
    else:
        model.load_report = load_into(model, state_dict, model_type=model_type, path=checkpoint)
    model.freeze_sam(freeze_sam)
    return model.eval()
