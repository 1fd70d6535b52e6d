"""HQ-benchmark evaluation protocols: one object owns an image's whole path to its scores.

:class:`HQProtocol` (name ``"square"``, the default everywhere) is the HQ-SAM authors'
evaluation (SysCV/sam-hq ``train/train.py:evaluate``; FACTS §4b), step by step:

1. a grey image is copied to 3 channels; a mask with channels keeps channel 0;
2. image and mask, as float32, are resized to ``S x S`` (1024) with
   ``F.interpolate(bilinear, align_corners=False)`` on the CPU with one thread (no
   antialias, aspect ratio not kept, no padding);
3. the resized image is truncated to uint8, then normalised with the model's mean/std;
4. the box prompt is the tight box, inclusive pixel indices ``[x0, y0, x1, y1]``, of
   (resized mask > 128) in the ``S`` frame -- not the original box scaled;
5. the model's low-res logits (256², per mask type) are upsampled bilinearly
   (align_corners False) straight to the original mask size; prediction = logits > 0;
6. against the ORIGINAL-size GT > 128: mask IoU as float32 (``float32(inter) /
   float32(union)``) and boundary IoU (FACTS §4 boundary, ``float64`` ratio cast to
   float32), per image; benchmark score = mean over images (:func:`.hq.summarize`).

:class:`LongestSideProtocol` (``"longest_side"``) is the named alternative: SAM's own
geometry (``ResizeLongestSide`` on uint8, zero padding after normalisation, the original
GT's tight box scaled to the input frame, ``Sam.postprocess_masks``), scored the same way.

Model interface. A protocol talks to the model only through these members, so any
model line plugs in (``HQSamPredictor`` implements them; Light HQ-SAM and HQ-SAM 2
predictors implement the same)::

    image_size: int                       # S, the square input side (1024)
    pixel_mean, pixel_std: Tensor         # [3, 1, 1] float32, 0..255 units
    encode_image(images) -> features      # images: [1, 3, S, S] float32, normalised
                                          # (and padded); features: opaque
    decode_boxes(features, boxes, mask_types, *, multimask_output=False)
        -> {mask_type: (low_res [N, 1, 256, 256] float32, scores [N] float32)}
                                          # boxes: [N, 4] float32 XYXY in the S frame;
                                          # mask_types from ("hq", "sam", "sum"):
                                          # "hq" = HQ token only, "sam" = plain SAM's
                                          # own decoder (no HQ token), "sum" = SAM + HQ
    dtype: torch.dtype | None             # optional: the autocast dtype (part of the key
                                          # of a cached encoding, see HQProtocol.encode)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from hqseg.evaluation.boxes import GT_THRESHOLD, mask_to_box
from hqseg.evaluation.encodings import (
    EncodingCache,
    EncodingKey,
    encoder_digest,
    map_tensors,
    tensor_digest,
)
from hqseg.metrics.masks import boundary
from hqseg.modeling.input_frames import (
    as_rgb,
    mask_channel,
    square_image,
    square_mask,
    upsample,
)

DEFAULT_PROTOCOL = "square"


@dataclass
class PreparedImage:
    """One image ready for the model.

    Attributes:
        image: ``[1, 3, S, S]`` float32, normalised (and padded), on the CPU.
        box: ``[1, 4]`` float32 XYXY in the ``S`` frame, or None when skipped.
        gt: ``(H, W)`` bool, original-size GT > 128.
        input_size: ``(h, w)`` of the image inside the ``S x S`` input (before padding).
        skip: why the image cannot be scored, or None.
    """

    image: torch.Tensor | None
    box: torch.Tensor | None
    gt: np.ndarray
    input_size: tuple[int, int]
    skip: str | None = None


def score_masks(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Mask IoU and boundary IoU of two ``(H, W)`` bool masks, as the authors compute them.

    IoU: ``float32(|G ∩ P|) / float32(|G ∪ P|)`` (torch's integer true division);
    boundary IoU: the ``float64`` ratio cast to float32. Both fractions in [0, 1];
    NaN when the union is empty (the protocols never score an empty GT).
    """
    gt = np.asarray(gt, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: {gt.shape} vs {pred.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.float32(np.count_nonzero(gt & pred)) / np.float32(np.count_nonzero(gt | pred))
        bg, bd = boundary(gt), boundary(pred)
        inter, union = np.count_nonzero(bg & bd), np.count_nonzero(bg | bd)
        biou = np.float32(np.float64(inter) / np.float64(union))
    return float(iou), float(biou)


class HQProtocol:
    """The HQ-SAM authors' HQ evaluation (see the module docstring), end to end.

    Args:
        model: anything with the model interface above (e.g. ``HQSamPredictor``).
        encodings: an :class:`~.encodings.EncodingCache` that every encoder call goes
            through (:meth:`encode`), or None to encode every time.
    """

    name: ClassVar[str] = "square"

    def __init__(self, model: Any, encodings: EncodingCache | None = None) -> None:
        self.model = model
        self.size = int(model.image_size)
        self.encodings = encodings
        self._encoder_digest: str | None = None  # once per protocol object, see encode()

    # ------------------------------------------------------------------ geometry
    def _normalise(self, image_u8: torch.Tensor) -> torch.Tensor:
        mean = self.model.pixel_mean.detach().float().cpu()
        std = self.model.pixel_std.detach().float().cpu()
        return ((image_u8.float() - mean) / std)[None]

    def prepare(self, image: np.ndarray, mask: np.ndarray) -> PreparedImage:
        """Decoded image ``(H, W[, C])`` uint8 and grey mask ``(H, W[, C])`` -> model input,
        box prompt and original-size GT."""
        image, mask = as_rgb(image), mask_channel(mask)
        gt = np.asarray(mask) > GT_THRESHOLD
        skip = _skip_reason(image, gt)
        if skip:
            return PreparedImage(None, None, gt, (0, 0), skip)
        box = mask_to_box(square_mask(mask, self.size).numpy() > GT_THRESHOLD)
        if box is None:
            return PreparedImage(
                None,
                None,
                gt,
                (0, 0),
                f"no resized-mask pixel > 128 at {self.size}x{self.size} (object too small"
                " for the authors' box rule)",
            )
        tensor = self._normalise(square_image(image, self.size))
        return PreparedImage(tensor, torch.from_numpy(box)[None], gt, (self.size, self.size))

    def to_original(self, low_res: torch.Tensor, prepared: PreparedImage) -> torch.Tensor:
        """``[N, 1, 256, 256]`` logits -> ``[N, 1, H, W]``, straight bilinear."""
        return upsample(low_res.float(), prepared.gt.shape)

    # ------------------------------------------------------------------ per image
    def encode(self, prepared: PreparedImage, image_sha256: str | None = None) -> Any:
        """The model's features of a prepared image: the one place the protocol calls the
        encoder. With a cache, keyed by (encoder digest, this protocol's name and ``S``,
        ``image_sha256`` -- the image file's sha256 -- or else the digest of the model
        input, numerics); a cached entry is bit-identical and moved to the model's device.
        The encoder digest is computed at the first call of each protocol object (one run
        over a split): the weights must not change while one protocol object is in use.
        """
        if self.encodings is None:
            return self.model.encode_image(prepared.image)
        if self._encoder_digest is None:
            self._encoder_digest = encoder_digest(self.model)
        device = self.model.pixel_mean.device
        dtype = getattr(self.model, "dtype", None) or torch.float32
        key = EncodingKey(
            encoder=self._encoder_digest,
            geometry=self.name,
            size=self.size,
            image=image_sha256 or tensor_digest(prepared.image),
            numerics=f"{device.type}/{str(dtype).removeprefix('torch.')}",
        )
        features = self.encodings.get_or_compute(
            key, lambda: self.model.encode_image(prepared.image)
        )
        return map_tensors(features, lambda t: t.to(device))

    def predict(self, prepared: PreparedImage, mask_types: tuple[str, ...]) -> dict:
        """``{mask_type: (H, W) bool prediction}`` for a prepared (not skipped) image."""
        with torch.inference_mode():
            features = self.encode(prepared)
            decoded = self.model.decode_boxes(features, prepared.box, mask_types)
            return {
                t: (self.to_original(low, prepared)[0, 0] > 0).cpu().numpy()
                for t, (low, _) in decoded.items()
            }

    def evaluate(self, image: np.ndarray, mask: np.ndarray, mask_types=("hq",)) -> dict:
        """Score one image.

        Returns:
            ``{"skip": reason or None, "gt": (H, W) bool, "pred": {mask_type: (H, W)
            bool}, "scores": {mask_type: (iou, biou)}}`` (fractions).
        """
        prepared = self.prepare(image, mask)
        if prepared.skip:
            return {"skip": prepared.skip, "gt": prepared.gt, "pred": {}, "scores": {}}
        pred = self.predict(prepared, tuple(mask_types))
        scores = {t: score_masks(prepared.gt, p) for t, p in pred.items()}
        return {"skip": None, "gt": prepared.gt, "pred": pred, "scores": scores}


class LongestSideProtocol(HQProtocol):
    """SAM's own geometry (``ResizeLongestSide`` + padding), scored like :class:`HQProtocol`."""

    name: ClassVar[str] = "longest_side"

    def prepare(self, image: np.ndarray, mask: np.ndarray) -> PreparedImage:
        from segment_anything.utils.transforms import ResizeLongestSide

        image, mask = as_rgb(image), mask_channel(mask)
        gt = np.asarray(mask) > GT_THRESHOLD
        skip = _skip_reason(image, gt)
        if skip:
            return PreparedImage(None, None, gt, (0, 0), skip)
        transform = ResizeLongestSide(self.size)
        resized = transform.apply_image(np.ascontiguousarray(image, dtype=np.uint8))
        tensor = self._normalise(torch.from_numpy(resized).permute(2, 0, 1))
        h, w = resized.shape[:2]
        tensor = F.pad(tensor, (0, self.size - w, 0, self.size - h))
        box = transform.apply_boxes(mask_to_box(gt).astype(np.float64)[None], gt.shape)
        return PreparedImage(tensor, torch.as_tensor(box, dtype=torch.float32), gt, (h, w))

    def to_original(self, low_res: torch.Tensor, prepared: PreparedImage) -> torch.Tensor:
        up = upsample(low_res.float(), (self.size, self.size))
        h, w = prepared.input_size
        return upsample(up[..., :h, :w], prepared.gt.shape)


PROTOCOLS: dict[str, type[HQProtocol]] = {
    HQProtocol.name: HQProtocol,
    LongestSideProtocol.name: LongestSideProtocol,
}
"""Protocol name -> class; ``"square"`` is the authors' and the default."""


def get_protocol(name: str, model: Any, encodings: EncodingCache | None = None) -> HQProtocol:
    """The protocol ``name`` (a key of :data:`PROTOCOLS`) bound to ``model`` (and to an
    encoding cache, see :meth:`HQProtocol.encode`)."""
    try:
        cls = PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None
    return cls(model, encodings)


def _skip_reason(image: np.ndarray, gt: np.ndarray) -> str | None:
    if gt.shape != image.shape[:2]:
        return f"mask size {gt.shape[::-1]} differs from image size {image.shape[1::-1]}"
    if not gt.any():
        return "empty ground-truth mask (no pixel > 128)"
    return None
