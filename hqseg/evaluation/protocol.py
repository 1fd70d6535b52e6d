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
    encode_image(images) -> features      # images: [B, 3, S, S] float32, normalised
                                          # (and padded); features: opaque, but every
                                          # tensor in it has the batch first (B)
    decode_boxes(features, boxes, mask_types, *, multimask_output=False)
        -> {mask_type: (low_res [N, 1, 256, 256] float32, scores [N] float32)}
                                          # boxes: [N, 4] float32 XYXY in the S frame;
                                          # mask_types from ("hq", "sam", "sum"):
                                          # "hq" = HQ token only, "sam" = plain SAM's
                                          # own decoder (no HQ token), "sum" = SAM + HQ
    dtype: torch.dtype | None             # optional: the autocast dtype (part of the key
                                          # of a cached encoding, see HQProtocol.encode)

Every encoder call of a protocol goes through :meth:`HQProtocol.encode` (a batch of
prepared images), so an encoding cache plugs in there; decoding goes through
:meth:`HQProtocol.decode`, once per decoder (checkpoint) with all of an image's prompts.
:meth:`HQProtocol.prepare` needs no model: :meth:`HQProtocol.detached` is a copy without
it, for DataLoader workers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from hqseg.evaluation.boxes import GT_THRESHOLD, mask_to_box
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.heads import Head, single_heads
from hqseg.evaluation.image_encoder import ImageEncoder
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
        model: anything with the model interface above (e.g. ``HQSamPredictor``); it
            encodes and is decoder 0.
        decoders: every decoder of the run (checkpoints sharing ``model``'s encoder);
            None = ``[model]``.
        encodings: an :class:`~.encodings.EncodingCache` that every encoder call goes
            through (:meth:`encode`), or None to encode every time.
        amp: autocast dtype for the encoder alone (features cast back to float32), or
            None (see :class:`~.image_encoder.ImageEncoder`).
    """

    name: ClassVar[str] = "square"

    def __init__(
        self,
        model: Any,
        decoders: Sequence[Any] | None = None,
        encodings: EncodingCache | None = None,
        amp: torch.dtype | None = None,
    ) -> None:
        self.model = model
        self.decoders = list(decoders) if decoders is not None else [model]
        self.size = int(model.image_size)
        self.mean = model.pixel_mean.detach().float().cpu()
        self.std = model.pixel_std.detach().float().cpu()
        self.encodings = encodings
        self.encoder = ImageEncoder(model, self.name, self.size, encodings, amp)

    def detached(self) -> HQProtocol:
        """A copy without the models, for :meth:`prepare` in DataLoader workers."""
        clone = copy.copy(self)
        clone.model, clone.decoders, clone.encodings, clone.encoder = None, [], None, None
        return clone

    # ------------------------------------------------------------------ geometry
    def _normalise(self, image_u8: torch.Tensor) -> torch.Tensor:
        return ((image_u8.float() - self.mean) / self.std)[None]

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

    # ------------------------------------------------------------------ model calls
    def encode(
        self, images: torch.Tensor, image_sha256s: Sequence[str | None] | None = None
    ) -> Any:
        """``[B, 3, S, S]`` prepared images -> features of the batch; the protocol's one
        encoder call (see :func:`split_features` for one image's part).

        It is :attr:`encoder` (:class:`~.image_encoder.ImageEncoder`): with an encoding
        cache each image is looked up on its own, keyed by (encoder digest, this
        protocol's name and ``S``, ``image_sha256s[i]`` -- the image file's sha256 -- or
        else the digest of the model input, numerics); a miss is encoded alone, so a
        cached entry is bit-identical to an uncached one-image run, and it is moved to
        the model's device.
        """
        return self.encoder(images, image_sha256s)

    def decode(self, features: Any, prepared: PreparedImage, heads: Sequence[Head]) -> dict:
        """``{head: (H, W) bool prediction}`` of one image from its ``features``: one
        ``decode_boxes`` call per decoder, for all of that decoder's mask types."""
        out: dict[Head, np.ndarray] = {}
        with torch.inference_mode():
            for index in sorted({h.decoder for h in heads}):
                mine = [h for h in heads if h.decoder == index]
                types = tuple(dict.fromkeys(h.mask_type for h in mine))
                decoded = self.decoders[index].decode_boxes(features, prepared.box, types)
                for h in mine:
                    low = decoded[h.mask_type][0]
                    out[h] = (self.to_original(low, prepared)[0, 0] > 0).cpu().numpy()
        return out

    # ------------------------------------------------------------------ per image
    def predict(self, prepared: PreparedImage, mask_types: tuple[str, ...]) -> dict:
        """``{mask_type: (H, W) bool prediction}`` for a prepared (not skipped) image."""
        heads = single_heads(mask_types)
        pred = self.decode(self.encode(prepared.image), prepared, heads)
        return {h.mask_type: pred[h] for h in heads}

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
    return cls(model, encodings=encodings)


def split_features(features: Any, n: int) -> list[Any]:
    """Features of a batch of ``n`` images -> ``n`` features of one image each (every
    tensor sliced ``[i : i + 1]`` along its first dimension, inside tuples, lists and
    dicts; anything else is shared)."""
    if torch.is_tensor(features):
        if features.shape[0] != n:
            raise ValueError(f"features have batch {features.shape[0]}, expected {n}")
        return [features[i : i + 1] for i in range(n)]
    if isinstance(features, tuple | list):
        parts = [split_features(f, n) for f in features]
        return [type(features)(p[i] for p in parts) for i in range(n)]
    if isinstance(features, dict):
        parts = {k: split_features(v, n) for k, v in features.items()}
        return [{k: v[i] for k, v in parts.items()} for i in range(n)]
    return [features] * n


def join_features(parts: Sequence[Any]) -> Any:
    """Inverse of :func:`split_features`: one-image features -> the batch's (tensors
    concatenated along their first dimension; one part is returned as is)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if torch.is_tensor(first):
        return torch.cat(list(parts))
    if isinstance(first, tuple | list):
        return type(first)(join_features([p[i] for p in parts]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: join_features([p[k] for p in parts]) for k in first}
    return first


def _skip_reason(image: np.ndarray, gt: np.ndarray) -> str | None:
    if gt.shape != image.shape[:2]:
        return f"mask size {gt.shape[::-1]} differs from image size {image.shape[1::-1]}"
    if not gt.any():
        return "empty ground-truth mask (no pixel > 128)"
    return None
