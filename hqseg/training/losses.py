"""HQ-SAM's mask loss: BCE + dice (1:1) on PointRend-sampled points (FACTS §3).

The loss is computed on the 256² HQ logits against the soft target mask/255;
the target is sampled at the same normalised points from its own (1024²)
resolution, which is what the official code does and avoids a lossy downsample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hqseg.training.point_sampling import point_sample, uncertain_points


@dataclass(frozen=True)
class LossParts:
    """Per-batch loss terms (scalars); ``total = bce + dice``."""

    total: torch.Tensor
    bce: torch.Tensor
    dice: torch.Tensor


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over masks of ``1 - (2|p·t| + 1) / (|p| + |t| + 1)``; logits/targets [B, P]."""
    p = logits.sigmoid()
    num = 2 * (p * targets).sum(-1)
    den = p.sum(-1) + targets.sum(-1)
    return (1 - (num + 1) / (den + 1)).mean()


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over masks of the per-point mean binary cross-entropy; [B, P] each."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(-1).mean()


def point_sampled_mask_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    num_points: int = 12544,
    oversample_ratio: float = 3.0,
    importance_ratio: float = 0.75,
    generator: torch.Generator | None = None,
    randoms: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> LossParts:
    """BCE + dice on uncertain points.

    Args:
        logits: [B, 1, h, w] predicted mask logits (256² for HQ-SAM).
        targets: [B, 1, H, W] soft targets in [0, 1] (any resolution).
        generator: randomness for the point choice (reproducible runs).
        randoms: pre-drawn point randomness (see :func:`point_randoms`), instead of
            ``generator``.
    """
    points = uncertain_points(
        logits,
        num_points=num_points,
        oversample_ratio=oversample_ratio,
        importance_ratio=importance_ratio,
        generator=generator,
        randoms=randoms,
    )
    with torch.no_grad():
        point_targets = point_sample(targets.float(), points)[:, 0]
    point_logits = point_sample(logits.float(), points)[:, 0]
    bce = bce_loss(point_logits, point_targets)
    dice = dice_loss(point_logits, point_targets)
    return LossParts(total=bce + dice, bce=bce, dice=dice)
