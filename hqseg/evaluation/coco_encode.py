"""COCO's image path: images read in DataLoader workers, encoded in batches, each
predictor then holding its image as if ``set_image`` had encoded it.

:class:`COCOInputs` is the map-style dataset (decoding and, with a cache, the file's
sha256 run in the workers). :class:`PredictorImages` is the COCO path's one encoder
call: the predictor's own input step (``model_input``, what ``set_image`` uses), then
an :class:`~.image_encoder.ImageEncoder` on the batch (cache and ``--amp`` there), then
:func:`hold_image` gives each predictor one image's features.
One image at a time without a cache this is, step for step, ``predictor.set_image``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hqseg.evaluation.coco_io import ImagePrompts, image_path, read_image
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.image_encoder import ImageEncoder
from hqseg.evaluation.protocol import split_features


class COCOInputs:
    """Map-style dataset: item ``i`` = ``{"image_id", "image": (H, W, 3) uint8 RGB,
    "prompts": ImagePrompts, "sha256": the file's sha256 hex or None}``.

    Args:
        hash_files: compute ``sha256`` (an encoding-cache key); else None.
    """

    def __init__(
        self,
        coco,
        images_dir: str | Path,
        prompts: dict[int, ImagePrompts],
        image_ids: Sequence[int],
        *,
        hash_files: bool = False,
    ) -> None:
        self.coco, self.images_dir, self.prompts = coco, images_dir, prompts
        self.image_ids, self.hash_files = list(image_ids), hash_files

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, i: int) -> dict:
        img_id = self.image_ids[i]
        sha = None
        if self.hash_files:
            path = image_path(self.images_dir, self.coco.imgs[img_id])
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
        return {"image_id": img_id, "image": read_image(self.coco, self.images_dir, img_id),
                "prompts": self.prompts[img_id], "sha256": sha}  # fmt: skip


def hold_image(predictor: Any, state: dict) -> None:
    """Make ``predictor`` hold one encoded image: ``state`` from :meth:`PredictorImages.encode`
    (``features``, ``interm_features``, ``original_size``, ``input_size``)."""
    predictor.set_features(**state)


class PredictorImages:
    """Images -> one state per image for :func:`hold_image` (the encoder runs once per
    batch; see the module doc).

    Args:
        predictor: an ``HQSamPredictor`` (``model_input``, ``encode_image``,
            ``resize_mode``, ``image_size``): the image reaches the encoder exactly as
            through its ``set_image``.
        encodings: an encoding cache (key: encoder digest, ``resize_mode`` and ``S``, the
            image file's sha256, numerics), or None.
        amp: autocast dtype for the encoder alone, or None.
    """

    def __init__(
        self, predictor: Any, encodings: EncodingCache | None = None, amp: torch.dtype | None = None
    ) -> None:
        self.predictor = predictor
        geometry = getattr(predictor, "resize_mode", None) or "longest_side"
        self.encoder = ImageEncoder(predictor, geometry, predictor.image_size, encodings, amp)

    def prepare(self, image: np.ndarray) -> tuple[torch.Tensor, dict]:
        """``(H, W, 3)`` uint8 RGB -> (``[1, 3, S, S]`` model input, sizes of its state)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 image, got {image.shape} {image.dtype}")
        tensor, input_size = self.predictor.model_input(image)
        sizes = {"original_size": (int(image.shape[0]), int(image.shape[1])),
                 "input_size": input_size}  # fmt: skip
        return tensor[None], sizes

    def inputs(self, images: Sequence[np.ndarray]) -> tuple[torch.Tensor, list[dict]]:
        """The batch's ``[B, 3, S, S]`` model input and each image's sizes."""
        prepared = [self.prepare(image) for image in images]
        return torch.cat([x for x, _ in prepared]), [sizes for _, sizes in prepared]

    def encode(
        self, images: Sequence[np.ndarray], image_sha256s: Sequence[str | None] | None = None
    ) -> list[dict]:
        """One state per image (``features``, ``interm_features`` ``[1, ...]`` each,
        ``original_size``, ``input_size``), from ONE encoder call for the batch."""
        batch, sizes = self.inputs(images)
        return self.states(self.encoder(batch, image_sha256s), sizes)

    @staticmethod
    def states(features: Any, sizes: list[dict]) -> list[dict]:
        """Batch features and each image's sizes -> one state per image."""
        parts = split_features(features, len(sizes))
        return [{"features": f[0], "interm_features": f[1], **s}
                for f, s in zip(parts, sizes, strict=True)]  # fmt: skip
