"""One training micro-batch: frozen encoder, HQ decoding per prompt type, point-sampled loss."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from hqseg.training import model_api
from hqseg.training.config import TrainConfig
from hqseg.training.losses import LossParts, point_sampled_mask_loss
from hqseg.training.prompts import PROMPT_TYPES


def autocast(device: torch.device, amp: str):
    """bf16 autocast on ``device`` when ``amp == "bf16"``, else a no-op context."""
    if amp == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def predict_batch(model, batch: dict[str, torch.Tensor], *, device: torch.device, amp: str):
    """HQ logits [B, 1, 256, 256] (float32) for a collated batch from ``HQTrainDataset``.

    The image encoder runs without gradients; samples are decoded in groups of
    one prompt type (the prompt encoder takes one kind of prompt per call) and the
    logits are put back in batch order.
    """
    images = batch["image"].to(device, non_blocking=True).float()
    with torch.no_grad(), autocast(device, amp):
        embeddings, interm = model_api.encode(model, images)
    kinds = batch["kind"]
    order: list[torch.Tensor] = []
    outputs: list[torch.Tensor] = []
    for k, name in enumerate(PROMPT_TYPES):
        idx = torch.nonzero(kinds == k).flatten()
        if len(idx) == 0:
            continue
        prompt: dict[str, torch.Tensor] = {}
        if name == "box":
            prompt["boxes"] = batch["box"][idx].to(device)
        elif name == "points":
            prompt["points"] = batch["points"][idx].to(device)
            prompt["point_labels"] = batch["point_labels"][idx].to(device)
        else:
            prompt["masks"] = batch["mask_prompt"][idx].to(device)
        dev_idx = idx.to(device)
        with autocast(device, amp):
            logits = model_api.decode_hq(model, embeddings[dev_idx], interm[dev_idx], **prompt)
        order.append(idx)
        outputs.append(logits.float())
    logits = torch.cat(outputs)
    inverse = torch.argsort(torch.cat(order)).to(device)
    return logits[inverse]


def batch_loss(
    model,
    batch: dict[str, torch.Tensor],
    *,
    config: TrainConfig,
    device: torch.device,
    generator: torch.Generator,
) -> LossParts:
    """The recipe's loss on one micro-batch (BCE + dice on sampled points vs mask/255)."""
    logits = predict_batch(model, batch, device=device, amp=config.amp)
    targets = batch["target"].to(device, non_blocking=True)
    return point_sampled_mask_loss(
        logits,
        targets,
        num_points=config.loss_points,
        oversample_ratio=config.oversample_ratio,
        importance_ratio=config.importance_ratio,
        generator=generator,
    )


def loss_generator(device: torch.device, seed: int, rank: int, step: int, micro: int):
    """Point-sampling randomness for one micro-batch, derived from its position (resume-exact)."""
    g = torch.Generator(device=device)
    state = np.random.SeedSequence([seed, rank, step, micro]).generate_state(1, np.uint64)[0]
    g.manual_seed(int(state) & (2**63 - 1))
    return g
