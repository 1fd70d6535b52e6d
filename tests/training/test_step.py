"""One micro-batch processed image by image gives the whole-batch loss and gradients."""

from __future__ import annotations

import pytest
import torch
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.training import model_api
from hqseg.training.config import TrainConfig
from hqseg.training.losses import point_sampled_mask_loss
from hqseg.training.step import backward_micro_batch


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    target = torch.zeros(2, 1, 1024, 1024, dtype=torch.uint8)
    target[0, :, 200:600, 300:700] = 255
    target[1, :, 100:900, 500:800] = 255
    mask_prompt = torch.zeros(2, 1, 256, 256, dtype=torch.uint8)
    mask_prompt[1, :, 25:225, 125:200] = 255
    return {
        "image": torch.randint(0, 256, (2, 3, 1024, 1024), generator=g, dtype=torch.uint8),
        "target": target,
        "kind": torch.tensor([0, 2]),  # a box prompt and a noise-mask prompt
        "box": torch.tensor([[300.0, 200, 699, 599], [0, 0, 0, 0]]),
        "points": torch.zeros(2, 10, 2),
        "point_labels": torch.ones(2, 10),
        "mask_prompt": mask_prompt,
    }


@pytest.mark.slow
def test_image_by_image_backward_equals_the_whole_batch_loss():
    torch.manual_seed(0)
    model = model_api.build_model("tiny", None)
    params = [p for _, p in model_api.hq_named_parameters(model)]
    cfg = TrainConfig(model_type="tiny", loss_points=1024)
    batch, cpu = _batch(), torch.device("cpu")
    parts = backward_micro_batch(
        model, batch, config=cfg, device=cpu, generator=torch.Generator().manual_seed(5)
    )
    grads = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    # reference: both images' logits, one batched loss, one backward
    logits = []
    with torch.no_grad():
        emb, interm = model_api.encode(model, batch["image"].float())
    logits.append(model_api.decode_hq(model, emb[:1], interm[:1], boxes=batch["box"][:1]))
    masks = batch["mask_prompt"][1:].float()
    logits.append(model_api.decode_hq(model, emb[1:], interm[1:], masks=masks))
    ref = point_sampled_mask_loss(
        torch.cat(logits),
        batch["target"].float() / 255,
        num_points=1024,
        generator=torch.Generator().manual_seed(5),
    )
    ref.total.backward()
    # the same sums in another order (image by image vs the batch): float32 rounding
    assert_close_f32(parts.total, ref.total.detach())
    for p, g in zip(params, grads, strict=True):
        # gradients at their own scale (entries of 0.01 and more), 1e-4 (≈ 840 ulps): each
        # is a sum over 1024 points x 2 images in another order, then back through the
        # decoder's layers
        assert_close_f32(p.grad, g, rtol=RTOL32_OTHER_KERNELS, floor=0.01)
