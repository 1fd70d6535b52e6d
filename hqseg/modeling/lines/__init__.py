"""The model lines (:class:`~hqseg.modeling.lines.base.ModelLine` objects) by name, and
what only all of them together can say: which model type a checkpoint holds.

* ``vit``     -- :data:`~hqseg.modeling.lines.hq_sam.HQ_SAM` (HQ-SAM);
* ``tinyvit`` -- :data:`~hqseg.modeling.lines.light_hq_sam.LIGHT_HQ_SAM` (Light HQ-SAM);
* ``sam2``    -- :data:`~hqseg.modeling.lines.hq_sam2.HQ_SAM2` (HQ-SAM 2).

A new line is one module here and one entry in :data:`LINES` (plus its model types in
:mod:`hqseg.modeling.model_types`). The line modules import their base packages
(segment_anything, sam2) only when they build or export.
"""

from __future__ import annotations

import torch

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import short
from hqseg.modeling.lines.base import ModelLine
from hqseg.modeling.lines.hq_sam import HQ_SAM
from hqseg.modeling.lines.hq_sam2 import HQ_SAM2
from hqseg.modeling.lines.light_hq_sam import LIGHT_HQ_SAM
from hqseg.modeling.model_types import line_of

LINES: dict[str, ModelLine] = {line.name: line for line in (HQ_SAM, LIGHT_HQ_SAM, HQ_SAM2)}
"""Every line by its :data:`hqseg.modeling.model_types.LINE_INFO` name."""

_SAM_PREFIXES = ("image_encoder.", "prompt_encoder.", "mask_decoder.")


def line_for(model_type: str) -> ModelLine:
    """The line of ``model_type`` (aliases resolved; ValueError for an unknown name)."""
    return LINES[line_of(model_type)]


def line_of_model(model: torch.nn.Module) -> ModelLine:
    """The line that built ``model`` (TypeError for a model hqseg did not build)."""
    line = getattr(model, "line", None)
    if not isinstance(line, ModelLine):
        raise TypeError(f"{type(model).__name__} was not built by an hqseg model line")
    return line


def describe_encoder(state_dict: dict[str, torch.Tensor]) -> str:
    """A short description of the image encoder in ``state_dict`` (for error messages)."""
    for line in LINES.values():
        found = line.describe(state_dict)
        if found is not None:
            return found
    return "unknown image encoder"


def infer_model_type(state_dict: dict[str, torch.Tensor], *, path: str = "checkpoint") -> str:
    """The model type, of any line, whose shapes ``state_dict`` has.

    Raises:
      CheckpointError: none matches; the message says what the file looks like
        (transformers' names, a decoder-only or HQ-only file, an unknown size, ...).
    """
    for line in LINES.values():
        found = line.infer_type(state_dict)
        if found is not None:
            return found
    raise CheckpointError(f"{path}: {_what_it_is(state_dict)}")


def _what_it_is(state_dict: dict[str, torch.Tensor]) -> str:
    keys = list(state_dict)
    if any(k.startswith("vision_encoder.") for k in keys):
        return (
            "this is a transformers SamModel/SamHQModel state dict; convert it "
            "with hqseg.modeling.from_transformers_state_dict first"
        )
    if any(all(k.startswith(line.hq_prefixes) for k in keys) for line in LINES.values()):
        return (
            "holds only the HQ parameters (e.g. a run's hq_only.pth); pass the run's "
            "sam_hq_<type>.pth, or merge it with `hqseg export BASE_CHECKPOINT --hq-weights` "
            "first"
        )
    if not any(k.startswith(_SAM_PREFIXES) for k in keys):
        if "hf_token.weight" in state_dict or "iou_token.weight" in state_dict:
            return (
                "this is a mask-decoder-only checkpoint (as sam-hq's train.py saves); "
                "it has no image encoder. Merge it with the SAM checkpoint it was trained on"
            )
        return (
            f"foreign state dict: none of the SAM keys ({', '.join(_SAM_PREFIXES)}*) "
            f"found; it starts with {short(keys)}"
        )
    described = describe_encoder(state_dict)
    if described == "unknown image encoder":
        return (
            "no image encoder found (neither image_encoder.patch_embed.proj.weight "
            "of a ViT nor the image_encoder.layers.* of a TinyViT)"
        )
    known = [k for line in LINES.values() for k in line.known_shapes()]
    return f"{described} matches no known model type ({', '.join(known)})"
