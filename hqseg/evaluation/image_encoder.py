"""The one encoder call of an evaluation run: prepared images -> features.

:class:`ImageEncoder` wraps a model with the protocol's model interface (``encode_image``,
``pixel_mean``; see :mod:`.protocol`) and is what both the HQ path
(:meth:`.protocol.HQProtocol.encode`) and the COCO path (:mod:`.coco_encode`) call. It adds:

- an :class:`~.encodings.EncodingCache`: each image looked up on its own, keyed by
  (encoder digest, geometry name and input size ``S``, the image file's sha256 -- or the
  digest of the model input when there is none --, numerics); a miss is encoded alone,
  so a cached entry is bit-identical to an uncached one-image run;
- encoder-only autocast (``amp``: ``torch.bfloat16`` or ``torch.float16``): the encoder
  runs under autocast and its features are cast back to float32 for the decoder;
- a counter: ``computed``, the images the encoder ran on (the cache counts its hits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hqseg.evaluation.encodings import (
    EncodingCache,
    EncodingKey,
    map_tensors,
    tensor_digest,
)

AMP_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}
"""``--amp`` name -> autocast dtype."""


class ImageEncoder:
    """Callable: ``[B, 3, S, S]`` prepared images (normalised, padded) -> features of the
    batch (every tensor batch-first), on the model's device.

    Args:
        model: anything with ``encode_image``, ``pixel_mean`` and optionally ``dtype``
            (its own autocast dtype, e.g. ``HQSamPredictor``).
        geometry: the input geometry's name (``"square"``, ``"longest_side"``), a key part.
        size: the square input side ``S``, a key part.
        encodings: the cache every call goes through, or None.
        amp: autocast dtype for the encoder alone, or None (the model's own numerics).

    The encoder digest is computed at the first cached call: the weights must not change
    while one encoder object is in use.
    """

    def __init__(
        self,
        model: Any,
        geometry: str,
        size: int,
        encodings: EncodingCache | None = None,
        amp: torch.dtype | None = None,
    ) -> None:
        self.model, self.geometry, self.size = model, geometry, int(size)
        self.encodings, self.amp = encodings, amp
        self.computed = 0
        self._digest: str | None = None

    @property
    def device(self) -> torch.device:
        return self.model.pixel_mean.device

    def numerics(self) -> str:
        """``"<device type>/<dtype>"``: what changes the encoder's output bits."""
        dtype = self.amp or getattr(self.model, "dtype", None) or torch.float32
        return f"{self.device.type}/{str(dtype).removeprefix('torch.')}"

    def __call__(self, images: torch.Tensor, image_sha256s: Sequence[str | None] | None = None):
        from hqseg.evaluation.protocol import join_features

        with torch.inference_mode():
            if self.encodings is None:
                return self._compute(images)
            shas = list(image_sha256s) if image_sha256s is not None else [None] * len(images)
            parts = [self._cached(images[i : i + 1], sha) for i, sha in enumerate(shas)]
            return join_features(parts)

    def _compute(self, images: torch.Tensor) -> Any:
        self.computed += len(images)
        if self.amp is None:
            return self.model.encode_image(images)
        with torch.autocast(device_type=self.device.type, dtype=self.amp):
            features = self.model.encode_image(images)
        return map_tensors(features, lambda t: t.float() if t.is_floating_point() else t)

    def _cached(self, image: torch.Tensor, image_sha256: str | None) -> Any:
        if self._digest is None:
            self._digest = self.encodings.digest(self.model)
        key = EncodingKey(
            encoder=self._digest,
            geometry=self.geometry,
            size=self.size,
            image=image_sha256 or tensor_digest(image),
            numerics=self.numerics(),
        )
        features = self.encodings.get_or_compute(key, lambda: self._compute(image))
        device = self.device
        return map_tensors(features, lambda t: t.to(device))
