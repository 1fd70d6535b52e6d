"""Training prompts drawn from the (augmented) GT mask, one type per sample (FACTS §3).

Frame: the 1024² training frame; boxes are XYXY in pixels, points (x, y) in pixels.
Foreground is ``mask > 0.5`` (= grey > 128 before /255).

    box         tight GT box, optionally noised (``box_noise_scale``; the official
                train.py defines box noise but never calls it, so the default is 0).
    points      ``num_points`` random foreground pixels, label 1 (drawn with
                replacement when the object has fewer pixels; the official code
                then drops the point type for the whole batch).
    noise_mask  the GT at 256², with N(0, 1) noise added only in the incoherent band
                |m - up(down(m, /8))| >= 0.01, thresholded at 0.5, given as mask
                prompt values {0, 255} exactly as the official code feeds SAM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hqseg.training.config import PROMPT_TYPES

__all__ = ["PROMPT_TYPES", "Prompt", "sample_prompt"]
MASK_PROMPT_SIZE = 256


@dataclass(frozen=True)
class Prompt:
    """One sample's prompt; only the fields of ``kind`` are meaningful, the rest are zeros.

    Attributes:
        kind: index into :data:`PROMPT_TYPES`.
        box: [4] float XYXY.
        points: [N, 2] float (x, y).
        point_labels: [N] float (1 = foreground).
        mask: [1, 256, 256] float mask prompt.
    """

    kind: int
    box: torch.Tensor
    points: torch.Tensor
    point_labels: torch.Tensor
    mask: torch.Tensor


def tight_box(mask: torch.Tensor) -> torch.Tensor:
    """XYXY box [4] of ``mask > 0.5`` ([1, H, W] or [H, W]); max coords are pixel indices."""
    fg = mask.reshape(mask.shape[-2:]) > 0.5
    ys = torch.nonzero(fg.any(1)).flatten()
    xs = torch.nonzero(fg.any(0)).flatten()
    if len(xs) == 0:
        return torch.zeros(4)
    return torch.tensor([xs[0], ys[0], xs[-1], ys[-1]], dtype=torch.float32)


def noisy_box(box: torch.Tensor, rng: np.random.Generator, scale: float, limit: int = 1024):
    """Jitter centre by up to ±scale·size/2 and size by up to ±scale·size, clamp to [0, limit]."""
    if scale <= 0:
        return box
    x0, y0, x1, y1 = box.tolist()
    w, h = x1 - x0, y1 - y0
    u = rng.uniform(-1, 1, size=4) * scale
    cx, cy = (x0 + x1) / 2 + u[0] * w / 2, (y0 + y1) / 2 + u[1] * h / 2
    w, h = w + u[2] * w, h + u[3] * h
    out = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=torch.float32)
    return out.clamp(0, limit)


def foreground_points(mask: torch.Tensor, rng: np.random.Generator, n: int) -> torch.Tensor:
    """[n, 2] (x, y) foreground pixel coordinates, distinct when the object is big enough."""
    ys, xs = torch.nonzero(mask.reshape(mask.shape[-2:]) > 0.5, as_tuple=True)
    if len(xs) == 0:
        return torch.zeros(n, 2)
    pick = torch.from_numpy(rng.choice(len(xs), size=n, replace=len(xs) < n))
    return torch.stack([xs[pick], ys[pick]], dim=1).float()


def incoherent_band(mask: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """Where ``|m - up(down(m, /factor))| >= 0.01``; mask [1, H, W] float -> bool [1, H, W]."""
    h, w = mask.shape[-2:]
    small = F.interpolate(mask[None], size=(h // factor, w // factor), mode="bilinear")
    back = F.interpolate(small, size=(h, w), mode="bilinear")[0]
    return (mask - back).abs() >= 0.01


def noise_mask(mask: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Noise-mask prompt [1, 256, 256] with values {0, 255} from a [1, H, W] soft mask."""
    m = F.interpolate(mask[None].float(), size=(MASK_PROMPT_SIZE,) * 2, mode="bilinear")[0]
    noise = torch.from_numpy(rng.standard_normal(m.shape).astype(np.float32))
    noisy = m + noise * incoherent_band(m).float()
    return (noisy > 0.5).float() * 255.0


def sample_prompt(
    mask: torch.Tensor,
    rng: np.random.Generator,
    *,
    types: tuple[str, ...] = PROMPT_TYPES,
    num_points: int = 10,
    box_noise_scale: float = 0.0,
) -> Prompt:
    """Choose one prompt type uniformly from ``types`` and build it from ``mask`` [1, H, W]."""
    unknown = set(types) - set(PROMPT_TYPES)
    if unknown or not types:
        raise ValueError(f"prompt types must be a non-empty subset of {PROMPT_TYPES}")
    kind = types[int(rng.integers(len(types)))]
    box = torch.zeros(4)
    points = torch.zeros(num_points, 2)
    mask_prompt = torch.zeros(1, MASK_PROMPT_SIZE, MASK_PROMPT_SIZE)
    if kind == "box":
        box = noisy_box(tight_box(mask), rng, box_noise_scale, limit=mask.shape[-1])
    elif kind == "points":
        points = foreground_points(mask, rng, num_points)
    else:
        mask_prompt = noise_mask(mask, rng)
    return Prompt(PROMPT_TYPES.index(kind), box, points, torch.ones(num_points), mask_prompt)
