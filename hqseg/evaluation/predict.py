"""Box-prompted inference through an HQ-SAM predictor, one image encoding per image.

The evaluators never call the model themselves: the inference loop hands each
input to a :class:`BoxPrompter`, which encodes the image once and decodes all
of its boxes for every requested mask type.

Mask types (FACTS §2):
    ``"hq"``   HQ-token output alone (``hq_token_only=True``), for the HQ benchmarks;
    ``"sam"``  plain SAM's mask (mask token 0, multimask off) from the same encoding;
    ``"sum"``  SAM + HQ logits summed (multimask off), HQ-SAM's COCO setting.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

MASK_TYPES: tuple[str, ...] = ("hq", "sam", "sum")
MODEL_NAMES: dict[str, str] = {"hq": "hq_sam", "sam": "sam", "sum": "hq_sam"}
"""Result label of each mask type: the model whose output it stands for."""


def as_predictor(predictor_or_model: Any, *, bf16: bool = False) -> Any:
    """Return a predictor: the argument itself if it has ``set_image``, else wrap the model.

    ``bf16`` applies only when a model is wrapped (a predictor keeps its own dtype).
    """
    if hasattr(predictor_or_model, "set_image"):
        return predictor_or_model
    import torch

    from hqseg.modeling import HQSamPredictor

    return HQSamPredictor(predictor_or_model, dtype=torch.bfloat16 if bf16 else None)


def load_predictor(
    model_type: str, *, checkpoint: str | None = None, device: str = "cpu", bf16: bool = False
) -> Any:
    """Build HQ-SAM ``model_type`` (vit_b/vit_l/vit_h/tiny) on ``device``; wrap it.

    Raises:
        HqsegError: unknown model type, or a checkpoint that does not fit (CheckpointError).
    """
    import torch

    from hqseg.errors import HqsegError
    from hqseg.modeling import HQSamPredictor, build_hq_sam

    try:
        model = build_hq_sam(model_type, checkpoint=checkpoint)
    except ValueError as exc:
        raise HqsegError(str(exc)) from exc
    return HQSamPredictor(
        model, device=torch.device(device), dtype=torch.bfloat16 if bf16 else None
    )


class BoxPrompter:
    """Callable: (image, boxes, mask types) -> full-size binary masks per mask type.

    Args:
        predictor: an object with ``set_image(image)`` and ``predict_boxes(boxes, ...)``
            (hqseg.modeling.HQSamPredictor).
    """

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        params = inspect.signature(predictor.predict_boxes).parameters
        self._has_mask_type = "mask_type" in params

    def _decode(self, boxes: np.ndarray, mask_type: str) -> tuple[np.ndarray, np.ndarray]:
        kwargs: dict[str, Any] = {"multimask_output": False, "return_logits": True}
        if self._has_mask_type:
            kwargs["mask_type"] = mask_type
        elif mask_type == "sam":
            raise NotImplementedError("this predictor cannot return plain SAM masks")
        else:
            kwargs["hq_token_only"] = mask_type == "hq"
        out = self.predictor.predict_boxes(boxes, **kwargs)
        logits, scores = out[0], out[1]
        logits = _to_numpy(logits).astype(np.float32, copy=False)
        if logits.ndim == 4:  # [N, 1, H, W]
            logits = logits[:, 0]
        return logits > 0, _to_numpy(scores).astype(np.float32).reshape(-1)

    def __call__(
        self, image: np.ndarray, boxes: np.ndarray, mask_types: Sequence[str]
    ) -> dict[str, dict[str, np.ndarray]]:
        """Encode ``image`` once and decode every box for each mask type.

        Args:
            image: (H, W, 3) uint8 RGB.
            boxes: (N, 4) float XYXY in original pixels.
            mask_types: subset of :data:`MASK_TYPES`.

        Returns:
            ``{mask_type: {"masks": (N, H, W) bool, "scores": (N,) float32}}``; masks are
            the logits upsampled to (H, W) (padding removed first) thresholded at > 0.
        """
        import torch

        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        results: dict[str, dict[str, np.ndarray]] = {}
        with torch.inference_mode():
            self.predictor.set_image(image)
            for mask_type in mask_types:
                if mask_type not in MASK_TYPES:
                    raise ValueError(f"unknown mask type {mask_type!r}; known: {MASK_TYPES}")
                masks, scores = self._decode(boxes, mask_type)
                results[mask_type] = {"masks": masks, "scores": scores}
        return results


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)
