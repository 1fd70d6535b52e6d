"""The model signal: does an HQ-SAM model, prompted with the mask's own box, agree?

Any line works (HQ-SAM, Light HQ-SAM, HQ-SAM 2): the predictor comes from
:func:`hqseg.evaluation.predict.load_predictor` and each record goes through the authors'
HQ protocol (:class:`hqseg.evaluation.HQProtocol`: 1024 x 1024 input, box of the resized
mask, HQ-token mask, IoU and boundary IoU against the original-size mask > 128).

Raw signal: ``1 - (IoU + boundary IoU) / 2`` of the model's mask against the record's.

Weight (so that a weak or random-weight model cannot drown the image signals): the
model's own agreement over the whole audit, ``clip((median IoU - 0.5) / 0.3, 0, 1)``
(:func:`model_weight`), at most :data:`MAX_WEIGHT`. A model whose typical mask matches
the labels (median IoU 0.8 or more) counts fully; one that mostly disagrees (a
random-weight model: median IoU far below 0.5) counts nothing, since its disagreement
says nothing about any one label.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

MAX_WEIGHT = 1.0
AGREE_FROM, AGREE_FULL = 0.5, 0.8


def model_weight(ious: Iterable[float]) -> float:
    """The weight of the model signal from the model's IoUs over the audit (NaN ignored)."""
    values = np.asarray([v for v in ious if np.isfinite(v)], dtype=float)
    if values.size == 0:
        return 0.0
    median = float(np.median(values))
    return float(min(MAX_WEIGHT, np.clip((median - AGREE_FROM) / (AGREE_FULL - AGREE_FROM), 0, 1)))


def model_scores(
    predictor: Any, records: Iterable[tuple[str, np.ndarray, np.ndarray]]
) -> Iterator[tuple[str, float, float, dict | None]]:
    """``(id, iou, biou, rle)`` per ``(id, image, mask)``; NaN and None where skipped.

    ``image``: ``(H, W, 3)`` uint8 RGB; ``mask``: ``(H, W)`` uint8 grey levels. ``rle``: the
    model's HQ mask at the record's size as COCO RLE (``{"size": [h, w], "counts": str}``),
    for the review page.
    """
    from pycocotools import mask as mask_utils

    from hqseg.evaluation.protocol import HQProtocol

    protocol = HQProtocol(predictor)
    for record_id, image, mask in records:
        result = protocol.evaluate(image, mask, ("hq",))
        if result["skip"]:
            yield record_id, float("nan"), float("nan"), None
        else:
            iou, biou = result["scores"]["hq"]
            rle = mask_utils.encode(np.asfortranarray(result["pred"]["hq"], dtype=np.uint8))
            rle = {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}
            yield record_id, float(iou), float(biou), rle


def disagreement(iou: float, biou: float) -> float:
    """The raw model signal ``1 - (iou + biou) / 2`` (NaN when not scored)."""
    return float(1.0 - (iou + biou) / 2.0)
