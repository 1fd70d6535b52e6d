"""Box-prompted inference through an HQ-SAM predictor, one image encoding per image.

The COCO evaluator never calls the model itself: the inference loop hands each input
to a :class:`BoxPrompter`, which encodes the image once and decodes all of its boxes
for every requested mask type with the predictor's ``predict_boxes_multi`` (the one
place box decoding is written). The HQ benchmarks go through :mod:`.protocol` instead.

Mask types (FACTS §2):
    ``"hq"``   HQ-token output alone (``hq_token_only=True``), for the HQ benchmarks;
    ``"sam"``  plain SAM's own decoder (no HQ token; multimask off) on the same encoding;
    ``"sum"``  SAM + HQ logits summed (multimask off), HQ-SAM's COCO setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MODEL_NAMES: dict[str, str] = {"hq": "hq_sam", "sam": "sam", "sum": "hq_sam"}
"""Result label of each mask type: the model whose output it stands for."""

DEFAULT_RESIZE_MODE = "square"
"""The geometry of predictors built here for evaluation, asked for by name: the HQ-SAM
authors' protocol. (``HQSamPredictor``'s own default is its line's interactive geometry,
a drop-in for the authors' predictors; pass ``resize_mode=None`` to get it.)"""


def as_predictor(
    predictor_or_model: Any, *, bf16: bool = False, resize_mode: str | None = DEFAULT_RESIZE_MODE
) -> Any:
    """Return a predictor: the argument itself if it is one (has ``encode_image`` or
    ``set_image``), else the model wrapped in an ``HQSamPredictor``.

    ``bf16`` and ``resize_mode`` (see :func:`load_predictor`) apply only when a model is
    wrapped; a predictor keeps its own settings.
    """
    if hasattr(predictor_or_model, "encode_image") or hasattr(predictor_or_model, "set_image"):
        return predictor_or_model
    import torch

    from hqseg.modeling import HQSamPredictor

    return HQSamPredictor(
        predictor_or_model, dtype=torch.bfloat16 if bf16 else None, resize_mode=resize_mode
    )


def load_predictor(
    model_type: str | None,
    *,
    checkpoint: str | None = None,
    device: str = "cpu",
    bf16: bool = False,
    resize_mode: str | None = DEFAULT_RESIZE_MODE,
) -> Any:
    """Build ``model_type`` (hqseg.modeling.model_types; None = inferred from
    ``checkpoint``) on ``device``; wrap it.

    ``resize_mode``: ``"square"`` (default here; the HQ-SAM authors' evaluation geometry:
    1024x1024 ignoring aspect, uint8 truncation, 256x256 logits upsampled straight to the
    image size), ``"longest_side"`` (SAM's resize + padding and SAM's postprocess, as the
    authors' ``SamPredictor`` and the COCO evaluation use), ``"sam2"`` (SAM 2's
    predictor; HQ-SAM 2 only) or None: the model line's interactive geometry, a drop-in
    for the authors' predictor (see :class:`hqseg.modeling.HQSamPredictor`).

    Raises:
        HqsegError: unknown model type, or a checkpoint that does not fit (CheckpointError).
    """
    import torch

    from hqseg.errors import HqsegError
    from hqseg.modeling import build_hq_sam
    from hqseg.utils.device import parse_device

    try:
        model = build_hq_sam(model_type, checkpoint=checkpoint)
    except ValueError as exc:
        raise HqsegError(str(exc)) from exc
    return model.line.predictor(
        model,
        device=parse_device(device),
        dtype=torch.bfloat16 if bf16 else None,
        resize_mode=resize_mode,
    )


class BoxPrompter:
    """Callable: (image, boxes, mask types) -> full-size binary masks per mask type.

    Args:
        predictor: an object with ``set_image(image)`` and ``predict_boxes_multi(boxes,
            mask_types=..., return_logits=..., batch_size=...)``
            (hqseg.modeling.HQSamPredictor).
        batch_size: boxes per decoder pass (memory only; results do not depend on it).
    """

    def __init__(self, predictor: Any, *, batch_size: int = 64) -> None:
        self.predictor = predictor
        self.batch_size = batch_size

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray, mask_types: Sequence[str]
    ) -> dict[str, dict[str, np.ndarray]]:
        """Encode ``image`` once and decode every box for each mask type.

        Args:
            image: (H, W, 3) uint8 RGB.
            boxes: (N, 4) float XYXY in original pixels.
            mask_types: subset of :data:`hqseg.modeling.hq_mask_decoder.MASK_TYPES`.

        Returns:
            ``{mask_type: {"masks": (N, H, W) bool, "scores": (N,) float32}}``; masks are
            the logits at (H, W) (the predictor's geometry) thresholded at > 0.
        """
        self.predictor.set_image(image)
        return self.decode(boxes, mask_types)

    def decode(
        self, boxes: np.ndarray, mask_types: Sequence[str]
    ) -> dict[str, dict[str, np.ndarray]]:
        """:meth:`__call__` for the image the predictor holds (set by it or shared)."""
        from hqseg.modeling.hq_mask_decoder import MASK_TYPES

        unknown = [t for t in mask_types if t not in MASK_TYPES]
        if unknown:
            raise ValueError(f"unknown mask type(s) {unknown}; known: {MASK_TYPES}")
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        out = self.predictor.predict_boxes_multi(
            boxes, mask_types=tuple(mask_types), batch_size=self.batch_size
        )
        return {
            t: {"masks": np.asarray(masks, bool), "scores": np.asarray(scores, np.float32)}
            for t, (masks, scores, _low) in out.items()
        }
