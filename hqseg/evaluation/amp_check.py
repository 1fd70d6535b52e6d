"""Mixed precision is measured, never silent: the encoder's deviation from float32.

With ``--amp`` (or ``--bf16``) the first batch of a run is encoded twice, once in float32
and once as the run encodes it, and one line says how far apart they are: the largest
absolute difference of the image embedding (the first tensor of the features, e.g. HQ-SAM's
``[B, 256, 64, 64]``) and the mask IoU between the first image's predictions decoded from
each (``1`` = the same pixels; the change is ``1 - IoU``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def first_tensor(features: Any) -> torch.Tensor:
    """The first tensor of ``features`` (a tensor or nested tuple/list/dict of them)."""
    if torch.is_tensor(features):
        return features
    values = features.values() if isinstance(features, dict) else features
    return first_tensor(next(iter(values)))


def float32_features(model: Any, images: torch.Tensor) -> Any:
    """``model``'s features of ``images`` computed in float32, whatever ``model.dtype``
    says (a predictor with its own autocast is run through its ``model.encode``)."""
    with torch.inference_mode():
        if getattr(model, "dtype", None) in (None, torch.float32):
            return model.encode_image(images)
        device = model.pixel_mean.device
        with torch.autocast(device_type=device.type, enabled=False):
            return model.model.encode(images.to(device))


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool arrays of one shape (1.0 when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def amp_deviation(
    reference: Any, features: Any, decode_first: Callable[[Any], np.ndarray]
) -> dict[str, float]:
    """How far ``features`` (the run's encoding of a batch) are from ``reference`` (float32).

    Args:
        reference, features: the batch's features, float32 and as the run computed them.
        decode_first: one batch's features -> the first image's predicted masks (bool).

    Returns:
        ``{"max_abs_embedding": float, "mask_iou": float}`` (IoU of the first image's
        masks from ``features`` against those from ``reference``).
    """
    ref, got = first_tensor(reference).float(), first_tensor(features).float()
    max_abs = float((got.to(ref.device) - ref).abs().max()) if ref.numel() else 0.0
    iou = mask_iou(decode_first(reference), decode_first(features))
    return {"max_abs_embedding": max_abs, "mask_iou": iou}


def report_amp(
    label: str,
    reference: Any,
    features: Any,
    decode_first: Callable[[Any], np.ndarray],
    say: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """:func:`amp_deviation`, said in one line (stderr by default); returns it."""
    found = amp_deviation(reference, features, decode_first)
    (say or _stderr)(
        f"{label} encoder vs float32 on the first batch: image embedding max |diff| "
        f"{found['max_abs_embedding']:.3g}; first image's masks IoU {found['mask_iou']:.4f} "
        f"(change {1 - found['mask_iou']:.4f})"
    )
    return found


def numerics_label(model: Any, amp: torch.dtype | None) -> str | None:
    """``"bfloat16"``/``"float16"`` when the encoder does not run in float32, else None."""
    dtype = amp or getattr(model, "dtype", None)
    if dtype in (None, torch.float32):
        return None
    return str(dtype).removeprefix("torch.")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
