"""One training micro-batch: frozen encoder, HQ decoding, point-sampled loss, backward.

Memory: the loss is a mean over the batch of per-image terms (BCE and dice are
both per-mask means), so each image is decoded, scored and back-propagated on its
own and its autograd graph is freed before the next one. The gradients are those
of the whole-batch loss (the point-sampling draws are made for the batch first, in
the same order, so every image gets the points a whole-batch pass would give it).
Peak memory is then one image's decoder graph, whatever the batch size. The
frozen encoder runs without autograd, on CPU one image at a time (its global
attention temporaries are the largest tensors of a step), on CUDA for the batch.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from hqseg.training import model_api
from hqseg.training.config import TrainConfig
from hqseg.training.losses import LossParts, point_sampled_mask_loss
from hqseg.training.point_sampling import point_randoms
from hqseg.training.prompts import PROMPT_TYPES


def autocast(device: torch.device, amp: str):
    """bf16 autocast on ``device`` when ``amp == "bf16"``, else a no-op context."""
    if amp == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def encode_chunk(device: torch.device, batch_size: int) -> int:
    """Images per encoder call: the batch on CUDA, one on CPU (see module doc)."""
    return batch_size if device.type == "cuda" else 1


def _prompt(batch: dict[str, torch.Tensor], i: int, device: torch.device) -> dict:
    """The decode keyword arguments of image ``i``'s prompt, batch dimension 1."""
    name = PROMPT_TYPES[int(batch["kind"][i])]
    take = slice(i, i + 1)
    if name == "box":
        return {"boxes": batch["box"][take].to(device, non_blocking=True)}
    if name == "points":
        return {
            "points": batch["points"][take].to(device, non_blocking=True),
            "point_labels": batch["point_labels"][take].to(device, non_blocking=True),
        }
    return {"masks": batch["mask_prompt"][take].to(device, non_blocking=True).float()}


def backward_micro_batch(
    model,
    batch: dict[str, torch.Tensor],
    *,
    config: TrainConfig,
    device: torch.device,
    generator: torch.Generator,
    scale: float = 1.0,
) -> LossParts:
    """Back-propagate ``scale`` x the recipe's loss of one micro-batch; return the loss.

    The returned terms are detached batch means (BCE + dice on sampled points vs
    mask/255), equal to what a whole-batch forward would report.
    """
    b = int(batch["image"].shape[0])
    randoms = point_randoms(
        b,
        num_points=config.loss_points,
        oversample_ratio=config.oversample_ratio,
        importance_ratio=config.importance_ratio,
        generator=generator,
        device=device,
    )
    bce = dice = 0.0
    chunk = encode_chunk(device, b)
    for start in range(0, b, chunk):
        images = batch["image"][start : start + chunk].to(device, non_blocking=True).float()
        with torch.no_grad(), autocast(device, config.amp):
            embeddings, interm = model_api.encode(model, images)
        del images
        for j in range(embeddings.shape[0]):
            i = start + j
            with autocast(device, config.amp):
                logits = model_api.decode_hq(
                    model, embeddings[j : j + 1], interm[j : j + 1], **_prompt(batch, i, device)
                )
            target = batch["target"][i : i + 1].to(device, non_blocking=True)
            parts = point_sampled_mask_loss(
                logits.float(),
                _as_unit_float(target),
                num_points=config.loss_points,
                oversample_ratio=config.oversample_ratio,
                importance_ratio=config.importance_ratio,
                randoms=(randoms[0][i : i + 1], randoms[1][i : i + 1]),
            )
            (parts.total * (scale / b)).backward()
            bce += float(parts.bce.detach()) / b
            dice += float(parts.dice.detach()) / b
            del logits, parts
    total = torch.tensor(bce + dice)
    return LossParts(total=total, bce=torch.tensor(bce), dice=torch.tensor(dice))


def _as_unit_float(target: torch.Tensor) -> torch.Tensor:
    """Targets in [0, 1] float: uint8 masks (0..255) are divided by 255."""
    if target.dtype == torch.uint8:
        return target.float() / 255.0
    return target.float()


def loss_generator(device: torch.device, seed: int, rank: int, step: int, micro: int):
    """Point-sampling randomness for one micro-batch, derived from its position (resume-exact)."""
    g = torch.Generator(device=device)
    state = np.random.SeedSequence([seed, rank, step, micro]).generate_state(1, np.uint64)[0]
    g.manual_seed(int(state) & (2**63 - 1))
    return g
