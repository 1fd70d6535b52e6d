"""Mask IoU, mask boundaries and Boundary IoU on binary numpy arrays (FACTS §4).

Boundary rule (Cheng et al. 2021, as the official boundary-iou-api computes it):
    d = max(1, round(0.02 * sqrt(H**2 + W**2)))   # Python round: halves to even
    pad the mask with one pixel of zeros, erode d times with a 3x3 kernel,
    crop the padding; boundary = mask & ~eroded.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_KERNEL = np.ones((3, 3), np.uint8)


def boundary_dilation(height: int, width: int, dilation_ratio: float = 0.02) -> int:
    """Boundary width d in pixels for an image of ``height`` x ``width``."""
    return max(1, int(round(dilation_ratio * math.sqrt(height**2 + width**2))))


def boundary(mask: np.ndarray, dilation_ratio: float = 0.02, d: int | None = None) -> np.ndarray:
    """Inner boundary band of a binary mask.

    Args:
        mask: (H, W) array, nonzero = foreground.
        dilation_ratio: fraction of the image diagonal (0.02 in the references).
        d: band width in pixels; computed from the image size when None.

    Returns:
        (H, W) bool array: foreground pixels within d (chessboard distance) of the
        background or of the image border.
    """
    m = (np.asarray(mask) != 0).astype(np.uint8)
    h, w = m.shape
    if d is None:
        d = boundary_dilation(h, w, dilation_ratio)
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, _KERNEL, iterations=d)[1 : h + 1, 1 : w + 1]
    return (m != 0) & (eroded == 0)


def mask_iou(gt: np.ndarray, dt: np.ndarray) -> float:
    """IoU of two binary masks of equal shape; 1.0 when both are empty."""
    g = np.asarray(gt) != 0
    p = np.asarray(dt) != 0
    if g.shape != p.shape:
        raise ValueError(f"mask shapes differ: {g.shape} vs {p.shape}")
    union = np.logical_or(g, p).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(g, p).sum() / union)


def boundary_iou(gt: np.ndarray, dt: np.ndarray, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU |Bg ∩ Bd| / |Bg ∪ Bd| of two binary masks of equal shape.

    Returns 1.0 when both boundaries are empty (both masks empty).
    """
    g = np.asarray(gt) != 0
    p = np.asarray(dt) != 0
    if g.shape != p.shape:
        raise ValueError(f"mask shapes differ: {g.shape} vs {p.shape}")
    bg = boundary(g, dilation_ratio)
    bd = boundary(p, dilation_ratio)
    union = np.logical_or(bg, bd).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(bg, bd).sum() / union)
