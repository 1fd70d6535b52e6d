"""Training augmentation (FACTS §3): horizontal flip, then large-scale jitter to 1024².

Large-scale jitter: scale so the long side is ``1024 * U(scale_min, scale_max)``,
random-crop to at most 1024 x 1024, pad bottom-right to 1024 x 1024 with 128 for
the image (raw pixel value, before SAM's normalisation, as the official code
pads) and 0 for the mask.

Two deliberate departures from the official code, both documented here:
    * resizing uses antialiasing, so a 0.1x downscale does not alias thin
      structures away (the official bilinear resize without antialias does);
    * a crop that leaves no foreground is redrawn (up to ``max_tries``); if all
      miss, the sample is scaled to fit (long side 1024) uncropped. The official
      code has no guard and its prompt sampling fails on an empty mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

SIZE = 1024
IMAGE_PAD = 128


@dataclass(frozen=True)
class Augmented:
    """One augmented sample.

    Attributes:
        image: [3, 1024, 1024] uint8, raw pixels (not normalised), padded with 128.
        mask: [1, 1024, 1024] float32 in [0, 1] (grey mask / 255), padded with 0.
        valid: (height, width) of the image content before padding.
    """

    image: torch.Tensor
    mask: torch.Tensor
    valid: tuple[int, int]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of [C, H, W] float, antialiased when shrinking."""
    if tuple(x.shape[-2:]) == size:
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(
        x[None], size=size, mode="bilinear", align_corners=False, antialias=shrink
    )[0]


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
        rng: the sample's own generator (seeded from seed, epoch, index).
    """
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape[:2]} sizes differ")
    img = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float()
    msk = torch.from_numpy(np.array(mask, copy=True)).float()[None] / 255.0
    if rng.random() < flip_prob:
        img, msk = img.flip(-1), msk.flip(-1)
    h, w = img.shape[-2:]
    for attempt in range(max_tries + 1):
        last = attempt == max_tries
        scale = 1.0 if last else rng.uniform(scale_min, scale_max)
        factor = scale * SIZE / max(h, w)
        sh, sw = max(1, round(h * factor)), max(1, round(w * factor))
        ch, cw = min(SIZE, sh), min(SIZE, sw)
        top = int(rng.integers(0, sh - ch + 1))
        left = int(rng.integers(0, sw - cw + 1))
        scaled_mask = _resize(msk, (sh, sw))[:, top : top + ch, left : left + cw]
        if last or bool((scaled_mask > 0.5).any()):
            break
    scaled_img = _resize(img, (sh, sw))[:, top : top + ch, left : left + cw]
    out_img = torch.full((3, SIZE, SIZE), float(IMAGE_PAD))
    out_img[:, :ch, :cw] = scaled_img
    out_mask = torch.zeros((1, SIZE, SIZE))
    out_mask[:, :ch, :cw] = scaled_mask.clamp(0, 1)
    return Augmented(out_img.round().clamp(0, 255).to(torch.uint8), out_mask, (ch, cw))
