"""Reading and writing HQ-SAM 2 checkpoints (the one place that knows their format).

Files are ``{"model": state_dict}`` as SAM 2's: ``sam2.1_hiera_*.pt`` (plain SAM 2.1)
and the authors' ``sam2.1_hq_hiera_large.pt`` (plus 13 HQ keys under
``sam_mask_decoder.``). Loading is by key set: every model key present -> HQ,
loaded strictly; exactly the HQ keys missing -> plain SAM 2.1, HQ parameters fresh;
anything else -> one :class:`CheckpointError` that says what the file is.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.modeling.checkpoint import LoadReport, save_state_dict
from hqseg.modeling.sam2_hq.configs import HQ_MODULE_NAMES, TRUNK_SIGNATURES

_HQ_PREFIXES = tuple(f"sam_mask_decoder.{m}." for m in HQ_MODULE_NAMES)


def is_hq_key(key: str) -> bool:
    return key.startswith(_HQ_PREFIXES)


def infer_sam2_type(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The SAM 2.1 model type whose Hiera trunk (width, blocks) matches, else None."""
    pos = state_dict.get("image_encoder.trunk.pos_embed")
    if pos is None or pos.ndim != 4:
        return None
    blocks = {k.split(".")[3] for k in state_dict if k.startswith("image_encoder.trunk.blocks.")}
    return TRUNK_SIGNATURES.get((int(pos.shape[1]), len(blocks)))


def describe(state_dict: dict[str, torch.Tensor]) -> str:
    """What a state dict looks like: ``"SAM 2.1 <type>"``, ``"SAM (ViT)"`` or ``"unknown"``."""
    pos = state_dict.get("image_encoder.trunk.pos_embed")
    if pos is not None and pos.ndim == 4:
        size = infer_sam2_type(state_dict)
        hq = " HQ" if any(is_hq_key(k) for k in state_dict) else ""
        return f"SAM 2.1{hq} {size}" if size else f"SAM 2{hq} (Hiera width {pos.shape[1]})"
    if any(k.startswith("image_encoder.patch_embed.") for k in state_dict):
        return "SAM / HQ-SAM (ViT)"
    return "unknown"


def check_and_split(
    state_dict: dict[str, torch.Tensor], model: nn.Module, *, model_type: str, path: str
) -> bool:
    """Check ``state_dict`` against ``model``; True when it holds the HQ keys too.

    Raises CheckpointError naming what the file looks like when keys or shapes differ.
    """
    want = model.state_dict()
    hq_keys = {k for k in want if is_hq_key(k)}
    missing = set(want) - set(state_dict)
    unexpected = set(state_dict) - set(want)
    wrong = sorted(k for k in set(want) & set(state_dict) if want[k].shape != state_dict[k].shape)
    if not wrong and not unexpected and missing in (set(), hq_keys):
        return not missing
    detail = (
        f"{len(missing)} missing (e.g. {sorted(missing)[:2]}), "
        f"{len(unexpected)} unexpected (e.g. {sorted(unexpected)[:2]}), "
        f"{len(wrong)} of another shape (e.g. {wrong[:2]})"
    )
    raise CheckpointError(
        f"{path}: looks like {describe(state_dict)}, not a {model_type} checkpoint ({detail})"
    )


def load_into(
    model: nn.Module,
    state_dict: dict[str, torch.Tensor],
    *,
    model_type: str,
    path: str | os.PathLike = "checkpoint",
) -> LoadReport:
    """Load an HQ-SAM 2 or plain SAM 2.1 state dict (read from ``path`` with
    :func:`read_state_dict`) into ``model`` (see module doc)."""
    has_hq = check_and_split(state_dict, model, model_type=model_type, path=str(path))
    result = model.load_state_dict(state_dict, strict=has_hq)
    return LoadReport(
        kind="hq" if has_hq else "sam",
        hq_initialised_fresh=not has_hq,
        path=str(path),
        model_type=model_type,
        missing_keys=sorted(result.missing_keys),
    )


def official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """SAM 2.1 keys + the 13 HQ keys, detached CPU copies (the authors' layout)."""
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def save_official_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Write ``{"model": state_dict}`` (``sam2.1_hq_hiera_*.pt`` layout), atomically."""
    save_state_dict({"model": official_state_dict(model)}, path)
