"""Segment one image from boxes and points, as SAM's interactive predictor does.

The engine of ``hqseg predict``: read an image (EXIF orientation applied), check the
prompts against its size, run :class:`~hqseg.modeling.predictor.HQSamPredictor` in its
default geometry (the authors' interactive predictor's for the model line: longest side
resized to 1024 and padded, as ``SamPredictor``, for HQ-SAM and Light HQ-SAM; SAM 2's
resize for HQ-SAM 2), and write the mask and an overlay.

Prompt conventions (original image pixels, x to the right, y down):
    box    ``(x0, y0, x1, y1)`` with ``x0 < x1``, ``y0 < y1``, inside the image;
    point  ``(x, y, label)``, label 1 = foreground, 0 = background.
Several boxes without points segment one object each; their masks are united. Points go
with at most one box (SAM's prompt for one object).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hqseg.errors import HqsegError

OVERLAY_COLOUR = (30, 144, 255)
"""Tint of the mask in the overlay (RGB)."""


class PromptError(HqsegError):
    """A box, point or image that cannot be used."""


@dataclass(frozen=True)
class Prompts:
    """``boxes`` ``[B, 4]`` XYXY float; ``points`` ``[N, 2]`` (x, y); ``labels`` ``[N]`` int."""

    boxes: np.ndarray
    points: np.ndarray
    labels: np.ndarray


def read_image(path: str | os.PathLike) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of an image file, EXIF orientation applied.

    Raises:
        PromptError: missing, unreadable or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise PromptError(f"{path}: no such image file") from None
    except UnidentifiedImageError:
        raise PromptError(f"{path}: not a recognised image format") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PromptError(f"{path}: cannot read the image ({exc})") from None


def check_prompts(
    boxes: Sequence[Sequence[float]], points: Sequence[Sequence[float]], size: tuple[int, int]
) -> Prompts:
    """Validate prompts against an image of ``size`` = (H, W); see the module doc.

    Raises:
        PromptError: no prompt, an empty or reversed box, a box or point outside the
        image, a label other than 0/1, or points beside several boxes.
    """
    h, w = size
    if not boxes and not points:
        raise PromptError("give at least one --box x0,y0,x1,y1 or --point x,y[,label]")
    for x0, y0, x1, y1 in boxes:
        if not (x0 < x1 and y0 < y1):
            raise PromptError(f"box {x0:g},{y0:g},{x1:g},{y1:g}: need x0 < x1 and y0 < y1")
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            raise PromptError(
                f"box {x0:g},{y0:g},{x1:g},{y1:g} leaves the {w}x{h} image (0..{w}, 0..{h})"
            )
    for x, y, label in points:
        if not (0 <= x < w and 0 <= y < h):
            raise PromptError(f"point {x:g},{y:g} is outside the {w}x{h} image")
        if label not in (0, 1):
            raise PromptError(f"point {x:g},{y:g}: label must be 1 (object) or 0 (background)")
    if points and len(boxes) > 1:
        raise PromptError("points go with at most one box (one object); got several boxes")
    return Prompts(
        boxes=np.asarray(boxes, np.float64).reshape(-1, 4),
        points=np.asarray([p[:2] for p in points], np.float64).reshape(-1, 2),
        labels=np.asarray([int(p[2]) for p in points], np.int64),
    )


def segment(
    predictor: Any,
    image: np.ndarray,
    prompts: Prompts,
    *,
    multimask_output: bool = False,
    hq_token_only: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """The ``(H, W)`` bool mask of the prompted object(s) and each decode's predicted IoU.

    One decode per box when there are boxes only (masks united), else one decode of the
    points with the box if any. ``hq_token_only``: the HQ token's logits alone (the
    authors' choice for single objects with thin structure); else SAM + HQ logits.
    """
    predictor.set_image(image)
    options = {"multimask_output": multimask_output, "hq_token_only": hq_token_only}
    if len(prompts.points) == 0:
        masks, scores, _ = predictor.predict_boxes(
            prompts.boxes, hq_token_only=hq_token_only, multimask_output=multimask_output
        )
        return masks.any(axis=0), [float(s) for s in scores]
    box = prompts.boxes[0] if len(prompts.boxes) else None
    masks, scores, _ = predictor.predict(
        point_coords=prompts.points, point_labels=prompts.labels, box=box, **options
    )
    return masks[0].astype(bool), [float(s) for s in scores]


def overlay_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` with ``mask`` tinted and outlined (``(H, W, 3)`` uint8)."""
    import cv2

    out = image.astype(np.float32)
    out[mask] = 0.5 * out[mask] + 0.5 * np.array(OVERLAY_COLOUR, np.float32)
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, OVERLAY_COLOUR, 2)
    return out


def write_png(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` (``(H, W)`` bool as 0/255, or ``(H, W, 3)`` uint8) as PNG, atomically."""
    from PIL import Image

    from hqseg.utils.atomic import atomic_file

    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    with atomic_file(path, "wb") as fh:
        Image.fromarray(array).save(fh, format="PNG")
    return Path(path)
