"""Training augmentation (FACTS §3): horizontal flip, then large-scale jitter to 1024².

Large-scale jitter: scale so the long side is ``1024 * U(scale_min, scale_max)``,
random-crop to at most 1024 x 1024, pad bottom-right to 1024 x 1024 with 128 for
the image (raw pixel value, before SAM's normalisation, as the official code
pads) and 0 for the mask.

How it is computed (cheap, same distribution as "flip, resize, crop, pad"):
    * the crop window is drawn first (from the scaled size alone) and only the
      source pixels under it are resampled, straight into the output frame;
    * a flip mirrors the window's position and then the 1024² crop, never the
      full image;
    * everything stays uint8 (OpenCV), up to the model's normalisation.
Resampling keeps ``F.interpolate(align_corners=False)`` geometry exactly
(output pixel ``y`` of the crop samples source row ``(top + y + 0.5) * h / sh - 0.5``):
bilinear when enlarging, as the official code; when shrinking, an exact integer
box filter first (area averaging, so a 0.1x scale does not alias thin structures
away, which the official unfiltered bilinear does), then bilinear for the rest.

A crop that leaves no foreground is redrawn (up to ``max_tries``); if all miss,
the sample is scaled to fit (long side 1024) uncropped. The official code has no
guard and its prompt sampling fails on an empty mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

SIZE = 1024
IMAGE_PAD = 128


@dataclass(frozen=True)
class Augmented:
    """One augmented sample.

    Attributes:
        image: [3, 1024, 1024] uint8, raw pixels (not normalised), padded with 128.
        mask: [1, 1024, 1024] uint8 grey mask (0..255; /255 is the soft target), padded with 0.
        valid: (height, width) of the image content before padding.
    """

    image: torch.Tensor
    mask: torch.Tensor
    valid: tuple[int, int]


@dataclass(frozen=True)
class Window:
    """The crop ``[top : top + height, left : left + width]`` of the source scaled to ``scaled``.

    ``left`` is in the unflipped scaled image (a flip mirrors it: ``sw - left - width``).
    """

    scaled: tuple[int, int]
    top: int
    left: int
    height: int
    width: int
    flip: bool


def _axis(start: int, n: int, scaled: int, size: int) -> tuple[int, int, int, float, float]:
    """Source span and sampling grid of one axis.

    Returns (lo, hi, k, offset, step): source indices ``[lo, hi)`` to read, integer box
    factor ``k``, and the affine map from output index ``i`` to the box-reduced window's
    coordinate ``offset + step * i``.
    """
    scale = size / scaled  # source pixels per output pixel
    k = max(1, int(math.floor(scale + 1e-9)))
    first = (start + 0.5) * scale - 0.5
    last = (start + n - 0.5) * scale - 0.5
    lo = max(0, int(math.floor(first)) - k)
    hi = min(size, int(math.ceil(last)) + k + 1)
    offset = (first - lo - (k - 1) / 2) / k
    return lo, hi, k, offset, scale / k


def resample_window(src: np.ndarray, window: Window) -> np.ndarray:
    """The window of ``src`` (H, W[, C] uint8) scaled to ``window.scaled``: (height, width[, C])."""
    h, w = src.shape[:2]
    sh, sw = window.scaled
    y0, y1, ky, oy, dy = _axis(window.top, window.height, sh, h)
    x0, x1, kx, ox, dx = _axis(window.left, window.width, sw, w)
    part = src[y0:y1, x0:x1]
    if ky > 1 or kx > 1:
        pad_y, pad_x = -part.shape[0] % ky, -part.shape[1] % kx
        if pad_y or pad_x:
            part = cv2.copyMakeBorder(part, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
        size = (part.shape[1] // kx, part.shape[0] // ky)
        part = cv2.resize(part, size, interpolation=cv2.INTER_AREA)  # exact box means
    matrix = np.array([[dx, 0.0, ox], [0.0, dy, oy]], dtype=np.float64)
    out = cv2.warpAffine(
        np.ascontiguousarray(part),
        matrix,
        (window.width, window.height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out[:, ::-1] if window.flip else out


def draw_window(h: int, w: int, rng: np.random.Generator, scale: float, flip: bool) -> Window:
    """The scaled size of an (h, w) source at long side ``scale * 1024`` and a random crop."""
    factor = scale * SIZE / max(h, w)
    sh, sw = max(1, round(h * factor)), max(1, round(w * factor))
    ch, cw = min(SIZE, sh), min(SIZE, sw)
    top = int(rng.integers(0, sh - ch + 1))
    left = int(rng.integers(0, sw - cw + 1))
    if flip:  # the crop of the flipped image at `left` is the mirror of this window
        left = sw - left - cw
    return Window((sh, sw), top, left, ch, cw, flip)


def large_scale_jitter(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    scale_min: float = 0.1,
    scale_max: float = 2.0,
    flip_prob: float = 0.5,
    max_tries: int = 10,
) -> Augmented:
    """Flip and jitter one (image, mask) pair into the 1024² training frame.

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 grey mask (0..255; soft edges kept).
        rng: the sample's own generator (seeded from seed, epoch, index); the draws
            are, in order: flip, then per try a scale and the crop's top and left.
    """
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape[:2]} sizes differ")
    flip = bool(rng.random() < flip_prob)
    h, w = mask.shape[:2]
    for attempt in range(max_tries + 1):
        last = attempt == max_tries
        scale = 1.0 if last else rng.uniform(scale_min, scale_max)
        window = draw_window(h, w, rng, scale, flip)
        crop_mask = resample_window(mask, window)
        if last or bool((crop_mask > 127).any()):  # foreground: grey/255 > 0.5
            break
    crop_img = resample_window(image, window)
    out_img = np.full((3, SIZE, SIZE), IMAGE_PAD, np.uint8)
    out_img[:, : window.height, : window.width] = crop_img.transpose(2, 0, 1)
    out_mask = np.zeros((1, SIZE, SIZE), np.uint8)
    out_mask[0, : window.height, : window.width] = crop_mask
    return Augmented(
        torch.from_numpy(out_img), torch.from_numpy(out_mask), (window.height, window.width)
    )
