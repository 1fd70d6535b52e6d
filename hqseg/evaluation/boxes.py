"""Box prompts derived from masks, and box format conversions.

Conventions: XYXY boxes are ``[x0, y0, x1, y1]`` in original-image pixel
coordinates; the tight box of a mask uses *inclusive* pixel indices (x1 is the
column of the right-most foreground pixel), as sam-hq's evaluation derives it.
XYWH boxes are COCO's ``[x, y, width, height]``.
"""

from __future__ import annotations

import numpy as np

GT_THRESHOLD = 128
"""Ground-truth grey levels strictly above this are foreground (FACTS §4)."""


def binarize_gt(mask: np.ndarray) -> np.ndarray:
    """(H, W) uint8 grey mask -> (H, W) bool, foreground where value > 128."""
    return np.asarray(mask) > GT_THRESHOLD


def mask_to_box(mask: np.ndarray) -> np.ndarray | None:
    """Tight XYXY box (inclusive pixel indices) of a boolean (H, W) mask.

    Returns:
        float32 array of shape (4,), or None when the mask is empty.
    """
    m = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1], rows[-1]], dtype=np.float32)


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) COCO XYWH -> (N, 4) XYXY."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    b[:, 2] += b[:, 0]
    b[:, 3] += b[:, 1]
    return b
