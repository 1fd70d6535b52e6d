"""Batches for :class:`~hqseg.modeling.HQSamPredictor`: many boxes of one image, and many
images in one encoder pass.

Boxes: :meth:`BatchPredictionMixin.predict_boxes` / ``predict_boxes_multi`` decode
``batch_size`` boxes per decoder pass, for one or several mask types from one encoding.

Images: the API has the shape of SAM 2's ``SAM2ImagePredictor.set_image_batch`` /
``predict_batch``: a list of images, then per-image lists of prompts, and per-image
lists of outputs. Each image's outputs equal :meth:`HQSamPredictor.predict` after
``set_image`` of that image alone, up to float32 rounding (a batched convolution or
matmul may sum in another order).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hqseg.modeling.hq_mask_decoder import MaskType


@dataclass(frozen=True)
class EncodedImage:
    """One image of a batch: its features (batch dimension 1) and sizes ``(h, w)``."""

    features: torch.Tensor
    interm_features: torch.Tensor
    original_size: tuple[int, int]
    input_size: tuple[int, int]


def _size(image: np.ndarray) -> tuple[int, int]:
    return int(image.shape[0]), int(image.shape[1])


class BatchPredictionMixin:
    """Many boxes (``predict_boxes``, ``predict_boxes_multi``) and many images
    (``set_image_batch``, ``predict_batch``) on top of the single-image predictor, which
    provides ``model_input``, ``encode_image``, ``decode_boxes``, ``predict``, the frame
    maps (``apply_boxes``, ``to_original_size``) and the per-image state ``features``,
    ``interm_features``, ``original_size``, ``input_size``."""

    _batch: list[EncodedImage] | None

    @property
    def is_batch(self) -> bool:
        """Whether the predictor holds a batch from :meth:`set_image_batch`."""
        return self._batch is not None

    def set_image_batch(self, image_list: Sequence[np.ndarray], image_format: str = "RGB") -> None:
        """Encode ``[H_i, W_i, 3]`` uint8 images (sizes may differ) in ONE encoder pass.

        Raises ValueError for an empty list or an image that is not HxWx3 uint8.
        """
        images = list(image_list)
        if not images:
            raise ValueError("set_image_batch needs at least one image")
        images = [self._checked_image(image, image_format) for image in images]
        inputs = [self.model_input(image) for image in images]
        self.reset_image()
        emb, interm = self.encode_image(torch.stack([tensor for tensor, _ in inputs]))
        self._batch = [
            EncodedImage(emb[i : i + 1], interm[i : i + 1], _size(image), input_size)
            for i, (image, (_, input_size)) in enumerate(zip(images, inputs, strict=True))
        ]

    @contextlib.contextmanager
    def _one_image(self, encoded: EncodedImage) -> Iterator[None]:
        """Make ``encoded`` the current image for the block; the batch is kept."""
        batch = self._batch
        self.set_features(
            encoded.features,
            encoded.interm_features,
            original_size=encoded.original_size,
            input_size=encoded.input_size,
        )
        try:
            yield
        finally:
            self.reset_image()
            self._batch = batch

    def predict_batch(
        self,
        point_coords_batch: Sequence[np.ndarray | None] | None = None,
        point_labels_batch: Sequence[np.ndarray | None] | None = None,
        box_batch: Sequence[np.ndarray | None] | None = None,
        mask_input_batch: Sequence[np.ndarray | None] | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
        hq_token_only: bool = False,
        *,
        mask_type: MaskType | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """:meth:`predict` for every image of the batch, image ``i`` with entry ``i`` of each
        given prompt list (``None`` lists, or ``None`` entries, mean no such prompt).

        Returns per-image lists: masks ``[1, H_i, W_i]``, scores ``[1]``, low-res logits
        ``[1, 256, 256]``. Raises RuntimeError without a batch, ValueError when a prompt
        list's length is not the number of images.
        """
        if self._batch is None:
            raise RuntimeError("call set_image_batch() before predict_batch()")
        n = len(self._batch)
        lists = [point_coords_batch, point_labels_batch, box_batch, mask_input_batch]
        for name, given in zip(
            ("point_coords", "point_labels", "box", "mask_input"), lists, strict=True
        ):
            if given is not None and len(given) != n:
                raise ValueError(f"{name}_batch has {len(given)} entries for {n} images")
        outputs: tuple[list, list, list] = ([], [], [])
        for i, encoded in enumerate(self._batch):
            prompts = [None if given is None else given[i] for given in lists]
            with self._one_image(encoded):
                result = self.predict(
                    *prompts,
                    multimask_output=multimask_output,
                    return_logits=return_logits,
                    hq_token_only=hq_token_only,
                    mask_type=mask_type,
                )
            for out, value in zip(outputs, result, strict=True):
                out.append(value)
        return outputs

    def predict_boxes(
        self,
        boxes: np.ndarray,
        *,
        hq_token_only: bool = False,
        mask_type: MaskType | None = None,
        multimask_output: bool = False,
        return_logits: bool = False,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One mask per box for many objects in the current image.

        Arguments:
          boxes: ``[N, 4]`` XYXY in original image pixels.
          hq_token_only / mask_type: which logits (see the class docstring).
          return_logits: return float logits at the original size (bilinear) instead of
            masks thresholded at 0, so callers can threshold themselves.
          batch_size: boxes decoded per forward pass (memory bound only; results do not
            depend on it).

        Returns:
          masks ``[N, H, W]`` bool (or float32 logits), scores ``[N]`` float32 and
          low-res logits ``[N, 1, 256, 256]`` float32.
        """
        if mask_type is None:
            mask_type = "hq" if hq_token_only else "sum"
        return self.predict_boxes_multi(
            boxes,
            mask_types=(mask_type,),
            multimask_output=multimask_output,
            return_logits=return_logits,
            batch_size=batch_size,
        )[mask_type]

    def predict_boxes_multi(
        self,
        boxes: np.ndarray,
        *,
        mask_types: Sequence[MaskType] = ("sam", "hq", "sum"),
        multimask_output: bool = False,
        return_logits: bool = False,
        batch_size: int = 64,
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`predict_boxes` for several mask types of the current image at once.

        HQ types share one decoder pass per batch; ``"sam"`` is plain SAM's decoder (see
        :meth:`decode_boxes`). Returns ``{mask_type: (masks [N, H, W] bool or float32
        logits, scores [N] float32, low_res [N, 1, 256, 256] float32)}``, equal to
        ``predict_boxes(boxes, mask_type=t, ...)`` for each ``t``.
        """
        self._require_image()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            h, w = self.original_size
            dtype = np.float32 if return_logits else bool
            return {
                t: (
                    np.zeros((0, h, w), dtype),
                    np.zeros(0, np.float32),
                    np.zeros((0, 1, 256, 256), np.float32),
                )
                for t in mask_types
            }
        input_boxes = self.apply_boxes(boxes)
        parts: dict[str, list] = {t: [] for t in mask_types}
        for start in range(0, len(boxes), batch_size):
            chunk = torch.as_tensor(input_boxes[start : start + batch_size], dtype=torch.float)
            decoded = self.decode_boxes(
                (self.features, self.interm_features),
                chunk,
                mask_types,
                multimask_output=multimask_output,
            )
            with torch.inference_mode():
                for t, (low, iou) in decoded.items():
                    masks = self.to_original_size(low)[:, 0]
                    if not return_logits:
                        masks = masks > self.model.mask_threshold
                    low = self._clamp_low_res(low)
                    parts[t].append((masks.cpu(), iou.cpu(), low.cpu()))
        return {
            t: tuple(torch.cat(p).numpy() for p in zip(*v, strict=True)) for t, v in parts.items()
        }
