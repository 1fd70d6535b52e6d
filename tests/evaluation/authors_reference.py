"""A reference of the HQ-SAM authors' HQ evaluation, written from FACTS §4b step by step
with plain torch / numpy / cv2 only (no hqseg evaluation code), for equality tests.

The model is used through its modules only (image encoder with the early-feature hook,
prompt encoder, mask decoder), as the authors' script calls theirs.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def load_like_authors(image: np.ndarray, mask: np.ndarray):
    """Step 1: grey image -> 3 channels; a mask with channels keeps channel 0; both to
    float32 tensors, image CHW through two transposes of the HWC array."""
    if mask.ndim > 2:
        mask = mask[:, :, 0]
    if image.ndim < 3:
        image = image[:, :, np.newaxis]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    im = torch.tensor(image.copy(), dtype=torch.float32)
    im = torch.transpose(torch.transpose(im, 1, 2), 0, 1)
    gt = torch.unsqueeze(torch.tensor(mask, dtype=torch.float32), 0)
    return im, gt


def resize_like_authors(im: torch.Tensor, gt: torch.Tensor, size: int = 1024):
    """Step 2: bilinear resize of both to size x size, in a one-thread 'worker'."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        im = torch.squeeze(F.interpolate(torch.unsqueeze(im, 0), [size, size], mode="bilinear"), 0)
        gt = torch.squeeze(F.interpolate(torch.unsqueeze(gt, 0), [size, size], mode="bilinear"), 0)
    finally:
        torch.set_num_threads(threads)
    return im, gt


def box_like_authors(masks: torch.Tensor) -> torch.Tensor:
    """Step 4: tight inclusive box of masks > 128, [N, H, W] float -> [N, 4] float32."""
    h, w = masks.shape[-2:]
    y = torch.arange(0, h, dtype=torch.float)
    x = torch.arange(0, w, dtype=torch.float)
    y, x = torch.meshgrid(y, x, indexing="ij")
    fg = masks > 128
    x_max = (fg * x.unsqueeze(0)).flatten(1).max(-1)[0]
    x_min = (fg * x.unsqueeze(0)).masked_fill(~fg, 1e8).flatten(1).min(-1)[0]
    y_max = (fg * y.unsqueeze(0)).flatten(1).max(-1)[0]
    y_min = (fg * y.unsqueeze(0)).masked_fill(~fg, 1e8).flatten(1).min(-1)[0]
    return torch.stack([x_min, y_min, x_max, y_max], 1)


def input_like_authors(model, im_resized: torch.Tensor) -> torch.Tensor:
    """Step 3: truncate to uint8 (numpy astype), then SAM's normalisation -> [1, 3, S, S]."""
    hwc = im_resized.permute(1, 2, 0).numpy()
    x = torch.as_tensor(hwc.astype(dtype=np.uint8)).permute(2, 0, 1).contiguous()
    return ((x - model.pixel_mean) / model.pixel_std)[None]


def _boundary(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    d = max(1, int(round(0.02 * np.sqrt(h**2 + w**2))))
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), dtype=np.uint8), iterations=d)
    return mask - eroded[1 : h + 1, 1 : w + 1]


def scores_like_authors(logits: torch.Tensor, gt_ori: torch.Tensor) -> tuple[float, float]:
    """Steps 6-8: ``[1, 1, 256, 256]`` logits vs the original GT ``[1, H, W]`` (uint8)."""
    up = F.interpolate(logits, size=gt_ori.shape[-2:], mode="bilinear", align_corners=False)[0]
    pred = (up > 0)[0].int()
    label = (gt_ori > 128)[0].int()
    iou = ((label * pred) > 0).sum() / ((label + pred) > 0).sum()
    gb = _boundary((gt_ori > 128)[0].byte().numpy())
    db = _boundary((up > 0)[0].byte().numpy())
    biou = ((gb * db) > 0).sum() / ((gb + db) > 0).sum()
    return float(iou), float(torch.tensor(biou).float())


@torch.no_grad()
def evaluate_like_authors(model, image: np.ndarray, mask: np.ndarray, plain_sam=None):
    """One image end to end with ``model`` (HQ-SAM): the HQ token's scores and, with
    ``plain_sam`` (a segment_anything ``Sam`` holding the same SAM weights), the scores
    of plain SAM's decoder on the same encoding.

    Returns ``{"input": [1,3,S,S], "box": [1,4], "hq": (iou, biou), "sam": (iou, biou)}``.
    """
    im, gt = load_like_authors(image, mask)
    im_r, gt_r = resize_like_authors(im, gt)
    box = box_like_authors(gt_r[:, :, :])
    x = input_like_authors(model, im_r)
    sparse, dense = model.prompt_encoder(points=None, boxes=box, masks=None)
    pe = model.prompt_encoder.get_dense_pe()
    emb, interm = model.encode(x)
    logits, _ = model.mask_decoder(
        emb,
        pe,
        sparse,
        dense,
        multimask_output=False,
        hq_token_only=True,
        interm_embeddings=[interm],
    )
    gt_ori = gt.type(torch.uint8)
    out = {"input": x, "box": box, "hq": scores_like_authors(logits, gt_ori)}
    if plain_sam is not None:
        s_sparse, s_dense = plain_sam.prompt_encoder(points=None, boxes=box, masks=None)
        s_logits, _ = plain_sam.mask_decoder(
            emb,
            plain_sam.prompt_encoder.get_dense_pe(),
            s_sparse,
            s_dense,
            multimask_output=False,
        )
        out["sam"] = scores_like_authors(s_logits, gt_ori)
    return out
