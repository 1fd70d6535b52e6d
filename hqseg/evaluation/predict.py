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


def as_predictor(
    predictor_or_model: Any, *, bf16: bool = False, resize_mode: str = "longest_side"
) -> Any:
    """Return a predictor: the argument itself if it has ``set_image``, else wrap the model.

    ``bf16`` and ``resize_mode`` (see :func:`load_predictor`) apply only when a model is
    wrapped; a predictor keeps its own settings.
    """
    if hasattr(predictor_or_model, "set_image"):
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
    resize_mode: str = "longest_side",
) -> Any:
    """Build ``model_type`` (hqseg.modeling.model_types; None = inferred from
    ``checkpoint``) on ``device``; wrap it.

    ``resize_mode``: ``"longest_side"`` (SAM's resize + padding, masks back through SAM's
    postprocess) or ``"square"`` (the HQ-SAM authors' HQ-benchmark protocol: 1024x1024
    ignoring aspect, 256x256 logits upsampled straight to the GT size).

    Raises:
        HqsegError: unknown model type, or a checkpoint that does not fit (CheckpointError).
    """
    import torch

    from hqseg.errors import HqsegError
    from hqseg.modeling import HQSamPredictor, build_hq_sam
    from hqseg.utils.device import parse_device

    try:
        model = build_hq_sam(model_type, checkpoint=checkpoint)
    except ValueError as exc:
        raise HqsegError(str(exc)) from exc
    return HQSamPredictor(
        model,
        device=parse_device(device),
        dtype=torch.bfloat16 if bf16 else None,
        resize_mode=resize_mode,
    )


_SHARED_ATTRS = ("transform", "features", "interm_features", "original_size", "input_size")


class BoxPrompter:
    """Callable: (image, boxes, mask types) -> full-size binary masks per mask type.

    Args:
        predictor: an object with ``set_image(image)`` and ``predict_boxes(boxes, ...)``
            (hqseg.modeling.HQSamPredictor).
    """

    def __init__(self, predictor: Any, *, batch_size: int = 64) -> None:
        self.predictor = predictor
        self.batch_size = batch_size
        params = inspect.signature(predictor.predict_boxes).parameters
        self._has_mask_type = "mask_type" in params
        model = getattr(predictor, "model", None)
        self._shared = all(hasattr(predictor, a) for a in _SHARED_ATTRS) and hasattr(
            model, "decode_all"
        )

    def _decode_shared(
        self, boxes: np.ndarray, mask_types: Sequence[str]
    ) -> dict[str, dict[str, np.ndarray]]:
        """All mask types from ONE decoder pass per box batch (HQSamPredictor internals).

        Equivalent to ``predict_boxes(boxes, mask_type=t, return_logits=True)`` for each
        ``t`` (tested), but the two-way transformer runs once instead of once per type.
        """
        import torch

        from hqseg.modeling import select_masks

        p = self.predictor
        model = p.model
        boxes64 = boxes.astype(np.float64)
        if hasattr(p, "_apply_boxes"):  # follows the predictor's resize_mode
            input_boxes = p._apply_boxes(boxes64)
            to_original = p._to_original_size
        else:
            input_boxes = p.transform.apply_boxes(boxes64, p.original_size)

            def to_original(low):
                return model.postprocess_masks(low, p.input_size, p.original_size)

        autocast = torch.autocast(
            device_type=p.device.type,
            dtype=torch.bfloat16,
            enabled=getattr(p, "dtype", None) == torch.bfloat16,
        )
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {t: [] for t in mask_types}
        for start in range(0, len(boxes), self.batch_size):
            chunk = torch.as_tensor(
                input_boxes[start : start + self.batch_size], dtype=torch.float, device=p.device
            )
            with autocast:
                all_masks, all_iou = model.decode_all(p.features, p.interm_features, boxes=chunk)
            all_masks, all_iou = all_masks.float(), all_iou.float()
            for t in mask_types:
                low, iou = select_masks(all_masks, all_iou, multimask_output=False, mask_type=t)
                up = to_original(low)[:, 0]
                parts[t].append((up.cpu().numpy() > 0, iou[:, 0].cpu().numpy()))
        return {
            t: {
                "masks": np.concatenate([m for m, _ in v]),
                "scores": np.concatenate([s for _, s in v]).astype(np.float32),
            }
            for t, v in parts.items()
        }

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
            unknown = [t for t in mask_types if t not in MASK_TYPES]
            if unknown:
                raise ValueError(f"unknown mask type(s) {unknown}; known: {MASK_TYPES}")
            self.predictor.set_image(image)
            if self._shared and len(boxes):
                return self._decode_shared(boxes, mask_types)
            for mask_type in mask_types:
                masks, scores = self._decode(boxes, mask_type)
                results[mask_type] = {"masks": masks, "scores": scores}
        return results


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)
