"""How an image becomes the model's square input, and how logits go back to it.

Three named geometries (``S`` = the encoder's input side, 1024):

* ``"square"`` -- the HQ-SAM authors' evaluation: image and mask resized to ``S x S``
  with ``F.interpolate(bilinear, align_corners=False)`` on float32 (no antialias, aspect
  not kept, nothing padded); the resized image truncated to uint8; the 256² logits
  upsampled bilinearly straight to the original size.
* ``"longest_side"`` -- SAM's own: ``ResizeLongestSide`` (uint8 -> uint8), zero padding
  to ``S x S`` after normalisation, logits back through ``Sam.postprocess_masks``. The
  authors' interactive ``SamPredictor`` (HQ-SAM, Light HQ-SAM) uses it.
* ``"sam2"`` -- SAM 2's ``SAM2ImagePredictor`` (``SAM2Transforms``; the authors' HQ-SAM 2
  predictor is the same): pixels / 255 as float32, resized to ``S x S`` with torchvision's
  tensor ``Resize`` (bilinear, align_corners False, antialias on; aspect not kept, nothing
  padded), then ImageNet mean/std; points and boxes divided by the original width/height
  in float32, then times ``S``; the 256² logits upsampled bilinearly straight to the
  original size (no hole filling or sprinkle removal: their defaults are off).

:func:`default_resize_mode` gives each model line the geometry of its authors'
interactive predictor; the HQ evaluation protocols name theirs explicitly.

The square resizes run on the CPU with one torch thread, as the authors' DataLoader workers
do: torch's CPU bilinear kernel for 3-channel images depends on the thread count
(one grey level apart), so this keeps results independent of the machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

RESIZE_MODES: tuple[str, ...] = ("square", "longest_side", "sam2")


def default_resize_mode(model: object) -> str:
    """The drop-in geometry for ``model``: its line's ``resize_mode`` (the geometry of the
    authors' interactive predictor for the line: segment_anything_hq's ``SamPredictor``,
    sam-hq2's ``SAM2ImagePredictor``; see :mod:`hqseg.modeling.lines`); ``"longest_side"``
    for a model without a line (segment_anything's ``Sam``)."""
    return getattr(getattr(model, "line", None), "resize_mode", "longest_side")


def pixel_unit(model: object) -> float:
    """Factor from ``model.pixel_mean`` / ``pixel_std``'s units to 0..255 (its line's
    ``pixel_unit``: 255 for SAM 2, which normalises pixels / 255; 1 for SAM)."""
    return float(getattr(getattr(model, "line", None), "pixel_unit", 1.0))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``; the previous count is restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, 1)`` grey -> ``(H, W, 3)`` by copying the channel; 3 channels
    pass through. Raises ValueError for any other shape."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {image.shape}")
    return image


def mask_channel(mask: np.ndarray) -> np.ndarray:
    """A mask with channels keeps channel 0 (as the authors' loader); ``(H, W)`` as is."""
    mask = np.asarray(mask)
    return mask[:, :, 0] if mask.ndim > 2 else mask


def _bilinear_cpu(chw: torch.Tensor, size: int) -> torch.Tensor:
    with single_thread():
        return F.interpolate(chw[None], (size, size), mode="bilinear", align_corners=False)[0]


def square_image(image: np.ndarray, size: int) -> torch.Tensor:
    """The authors' model input: ``(H, W, 3)`` uint8 -> ``[3, S, S]`` uint8 (CPU).

    float32 bilinear resize of the channels-last view (as their loader builds it), then
    truncation to uint8 (``astype(np.uint8)``).
    """
    hwc = torch.tensor(np.asarray(image), dtype=torch.float32)
    chw = hwc.permute(2, 0, 1)  # channels-last strides, as the authors' double transpose
    resized = _bilinear_cpu(chw, size)
    return torch.from_numpy(resized.permute(1, 2, 0).numpy().astype(np.uint8)).permute(2, 0, 1)


def square_mask(mask: np.ndarray, size: int) -> torch.Tensor:
    """The authors' resized GT: ``(H, W)`` grey uint8 -> ``[S, S]`` float32 (CPU), not
    thresholded (their box rule thresholds it at > 128)."""
    gt = torch.tensor(np.asarray(mask), dtype=torch.float32)[None]
    return _bilinear_cpu(gt, size)[0]


def upsample(low_res: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[B, C, h, w]`` logits -> ``[B, C, *size]``, bilinear, align_corners False."""
    return F.interpolate(low_res, size, mode="bilinear", align_corners=False)


def sam2_image(image: np.ndarray, size: int) -> torch.Tensor:
    """SAM 2's model input before normalisation: ``(H, W, 3)`` uint8 -> ``[3, S, S]``
    float32 in 0..1 (CPU), as ``SAM2Transforms``: ``ToTensor`` (x / 255), then
    torchvision's tensor resize (bilinear, antialias on), i.e. ``F.interpolate`` with
    ``antialias=True`` (the same kernel)."""
    chw = torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))
    chw = chw.float().div(255)
    return F.interpolate(
        chw[None], (size, size), mode="bilinear", align_corners=False, antialias=True
    )[0]


def sam2_coords(coords: np.ndarray, original_size: tuple[int, int], size: int) -> np.ndarray:
    """``[..., 2]`` (x, y) original pixels -> the ``S`` frame as ``SAM2Transforms``:
    float32 x / W and y / H, then times ``S`` (float32 result)."""
    h, w = original_size
    out = np.asarray(coords, dtype=np.float32).copy()
    out[..., 0] = out[..., 0] / np.float32(w)
    out[..., 1] = out[..., 1] / np.float32(h)
    return out * np.float32(size)
