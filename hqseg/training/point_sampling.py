"""PointRend-style point sampling (Kirillov et al. 2020), as HQ-SAM's loss uses it.

Coordinates are normalised to [0, 1] over the whole map, (x, y) order, and sampled
with ``grid_sample(align_corners=False)`` so a point refers to the same physical
location at any resolution: logits at 256² and targets at 1024² can be sampled
with the same points.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def point_sample(maps: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample ``maps`` at ``points``.

    Args:
        maps: [B, C, H, W].
        points: [B, P, 2] normalised (x, y) in [0, 1].

    Returns:
        [B, C, P].
    """
    grid = (2.0 * points - 1.0).unsqueeze(2)  # [B, P, 1, 2] in [-1, 1]
    return F.grid_sample(maps, grid.to(maps.dtype), align_corners=False).squeeze(3)


def uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """Uncertainty of binary logits: ``-|logit|`` (highest at the decision boundary)."""
    return -logits.abs()


def point_randoms(
    batch: int,
    *,
    num_points: int,
    oversample_ratio: float,
    importance_ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The uniform draws :func:`uncertain_points` needs for a whole batch, in its order.

    Returns (candidates ``[B, num_points * oversample_ratio, 2]``, extra
    ``[B, num_points - importance_ratio * num_points, 2]``). Drawing them up front
    lets a batch be processed one image at a time (``[i : i + 1]`` slices) with the
    very points a whole-batch call would choose.
    """
    if num_points < 1 or oversample_ratio < 1 or not 0 <= importance_ratio <= 1:
        raise ValueError("need num_points >= 1, oversample_ratio >= 1, 0 <= importance_ratio <= 1")
    n_candidates = int(num_points * oversample_ratio)
    n_random = num_points - int(importance_ratio * num_points)
    candidates = torch.rand(batch, n_candidates, 2, device=device, generator=generator)
    extra = torch.rand(batch, n_random, 2, device=device, generator=generator)
    return candidates, extra


def uncertain_points(
    logits: torch.Tensor,
    *,
    num_points: int,
    oversample_ratio: float,
    importance_ratio: float,
    generator: torch.Generator | None = None,
    score: Callable[[torch.Tensor], torch.Tensor] = uncertainty,
    randoms: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Choose training points: the most uncertain of an oversampled random set, plus random ones.

    ``num_points * oversample_ratio`` uniform random candidates are scored by
    ``score`` on the logits sampled there; the ``importance_ratio * num_points``
    most uncertain are kept and the rest of the ``num_points`` are fresh uniform
    points.

    Args:
        logits: [B, 1, H, W] mask logits.
        generator: source of randomness (on the logits' device) for reproducible runs.
        randoms: the draws of :func:`point_randoms` for these B maps (then
            ``generator`` is not used).

    Returns:
        [B, num_points, 2] normalised (x, y) points, no gradient.
    """
    if randoms is None:
        randoms = point_randoms(
            logits.shape[0],
            num_points=num_points,
            oversample_ratio=oversample_ratio,
            importance_ratio=importance_ratio,
            generator=generator,
            device=logits.device,
        )
    candidates, extra = randoms
    n_important = int(importance_ratio * num_points)
    with torch.no_grad():
        scores = score(point_sample(logits.detach().float(), candidates))[:, 0]  # [B, Nc]
        top = scores.topk(n_important, dim=1).indices  # [B, n_important]
        chosen = torch.gather(candidates, 1, top.unsqueeze(-1).expand(-1, -1, 2))
        if extra.shape[1] > 0:
            chosen = torch.cat([chosen, extra], dim=1)
    return chosen
