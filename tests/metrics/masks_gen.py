"""Random binary masks for the boundary-rule tests: blobs, noise, border-touching
boxes, specks smaller than d, empty and full masks, on awkward image sizes."""

from __future__ import annotations

import cv2
import numpy as np

# 375x500: 0.02*diag = 12.5 -> d=12; 189x648: 13.5 -> d=14; 7x24: 0.5 -> 0 -> d=1;
# 21x72: 1.5 -> d=2; plus non-square odd sizes and a 1-pixel-high image.
SIZES = ((375, 500), (189, 648), (7, 24), (21, 72), (33, 17), (1, 40), (64, 64), (120, 77))


def random_masks(rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
    """A handful of (h, w) uint8 0/1 masks of different kinds."""
    out = [np.zeros((h, w), np.uint8), np.ones((h, w), np.uint8)]
    noise = rng.random((h, w)).astype(np.float32)
    k = max(1, min(h, w) // 6) | 1
    smooth = cv2.GaussianBlur(noise, (k, k), 0)
    out.append((smooth > np.quantile(smooth, rng.uniform(0.3, 0.8))).astype(np.uint8))
    out.append((noise < rng.uniform(0.1, 0.9)).astype(np.uint8))
    box = np.zeros((h, w), np.uint8)  # touches the top-left border
    box[: rng.integers(1, h + 1), : rng.integers(1, w + 1)] = 1
    out.append(box)
    speck = np.zeros((h, w), np.uint8)  # smaller than d
    y, x = rng.integers(0, h), rng.integers(0, w)
    speck[y : y + 3, x : x + 2] = 1
    out.append(speck)
    return out
