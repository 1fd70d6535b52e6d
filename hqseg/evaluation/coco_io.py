"""Reading and validating COCO ground truth, detections files and images.

A detections file is COCO *results* format: a JSON list of
``{"image_id": int, "category_id": int, "bbox": [x, y, w, h], "score": float}``
(extra keys such as ``segmentation`` are ignored). Problems are reported as
:class:`DetectionsError` naming the file and the first bad entry, before any
model time is spent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hqseg.errors import DatasetError, HqsegError
from hqseg.evaluation.boxes import xywh_to_xyxy


class DetectionsError(HqsegError):
    """A detections file is malformed or does not match the ground truth."""


@dataclass
class ImagePrompts:
    """The box prompts of one image.

    Attributes:
        image_id: COCO image id.
        boxes: (N, 4) float32 XYXY in original pixels.
        scores: (N,) float64 detection scores, kept exact (1.0 for oracle boxes).
        category_ids: (N,) int64.
    """

    image_id: int
    boxes: np.ndarray
    scores: np.ndarray
    category_ids: np.ndarray


def load_gt(path: str | Path):
    """Load a COCO instances JSON as a ``pycocotools.coco.COCO`` (quietly).

    Raises:
        DatasetError: missing file, malformed JSON, or not an instances file.
    """

    path = Path(path)
    data = _read_json(path, DatasetError)
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= set(data):
        raise DatasetError(
            f"{path}: not a COCO instances file (needs images, annotations and categories)"
        )
    from hqseg.metrics.coco_io import load_gt as load_checked_gt

    try:  # the same checks as `hqseg eval results` (ids, sizes, segmentation, area...)
        coco = load_checked_gt(data)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    for ann in coco.dataset["annotations"]:
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_number, bbox))):
            raise DatasetError(
                f"{path}: annotation {ann['id']} needs a bbox [x, y, w, h], got {bbox!r}"
            )
    for img in coco.dataset["images"]:
        if not isinstance(img.get("file_name"), str):
            raise DatasetError(f"{path}: image {img['id']} has no file_name")
    return coco


def _read_json(path: Path, error: type[HqsegError]) -> Any:
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: malformed JSON ({exc})") from exc
    except RecursionError:
        raise error(f"{path}: malformed JSON (nested too deeply)") from None


def _entry_problem(det: Any, coco) -> str | None:
    if not isinstance(det, dict):
        return "not a JSON object"
    missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in det]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    bbox, score = det["bbox"], det["score"]
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return f"bbox must be 4 numbers [x, y, w, h], got {bbox!r}"
    if bbox[2] <= 0 or bbox[3] <= 0:
        return f"bbox has non-positive width or height: {bbox!r}"
    if not _is_number(score):
        return f"score must be a number, got {score!r}"
    if det["image_id"] not in coco.imgs:
        return f"image_id {det['image_id']!r} is not in the ground truth"
    if det["category_id"] not in coco.cats:
        return f"category_id {det['category_id']!r} is not in the ground truth"
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def load_detections(path: str | Path, coco, *, top_k: int = 100) -> dict[int, ImagePrompts]:
    """Read, validate and group a detections file by image, keeping the top-k per image.

    Args:
        coco: the ground truth (``load_gt``).
        top_k: detections kept per image after sorting by score (descending, stable).

    Returns:
        ``{image_id: ImagePrompts}`` for every image id with at least one detection.

    Raises:
        DetectionsError: malformed JSON, not a list, or an entry with missing fields,
            bad bbox/score, or an image/category id unknown to the ground truth.
    """
    path = Path(path)
    data = _read_json(path, DetectionsError)
    if not isinstance(data, list):
        raise DetectionsError(
            f"{path}: a detections file must be a JSON list of results, got {type(data).__name__}"
        )
    for i, det in enumerate(data):
        problem = _entry_problem(det, coco)
        if problem:
            raise DetectionsError(f"{path}: entry {i}: {problem}: {json.dumps(det)[:200]}")
    by_image: dict[int, list[dict]] = {}
    for det in data:
        by_image.setdefault(det["image_id"], []).append(det)
    return {img: _prompts(img, dets, top_k) for img, dets in by_image.items()}


def _prompts(image_id: int, dets: list[dict], top_k: int | None) -> ImagePrompts:
    dets = sorted(dets, key=lambda d: -float(d["score"]))[:top_k]
    return ImagePrompts(
        image_id=image_id,
        boxes=xywh_to_xyxy(np.array([d["bbox"] for d in dets], dtype=np.float32)),
        scores=np.array([d["score"] for d in dets], dtype=np.float64),
        category_ids=np.array([d["category_id"] for d in dets], dtype=np.int64),
    )


def oracle_prompts(coco) -> dict[int, ImagePrompts]:
    """GT boxes of the non-crowd annotations as prompts (score 1.0), by image."""
    by_image: dict[int, list[dict]] = {}
    for ann in coco.dataset["annotations"]:
        if ann.get("iscrowd", 0) or ann["bbox"][2] <= 0 or ann["bbox"][3] <= 0:
            continue
        by_image.setdefault(ann["image_id"], []).append(
            {"bbox": ann["bbox"], "score": 1.0, "category_id": ann["category_id"]}
        )
    return {img: _prompts(img, dets, None) for img, dets in by_image.items()}


def image_path(images_dir: str | Path, info: dict) -> Path:
    """Path of a GT image entry's file inside ``images_dir`` (no escaping the folder)."""
    root = Path(images_dir).resolve()
    path = (root / info["file_name"]).resolve()
    if root not in path.parents:
        raise DatasetError(f"image file_name {info['file_name']!r} points outside {root}")
    return path


def check_images(coco, images_dir: str | Path, image_ids) -> None:
    """Fail early, naming the first image file that is missing from ``images_dir``."""
    for img_id in image_ids:
        path = image_path(images_dir, coco.imgs[img_id])
        if not path.is_file():
            raise DatasetError(f"image {img_id}: {path} not found (--images {images_dir})")


def read_image(coco, images_dir: str | Path, image_id: int) -> np.ndarray:
    """Read one GT image as (H, W, 3) uint8 RGB; its size must match the GT entry."""
    from PIL import Image, UnidentifiedImageError

    info = coco.imgs[image_id]
    path = image_path(images_dir, info)
    try:
        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"{path}: cannot read image ({exc})") from exc
    h, w = image.shape[:2]
    if (info.get("height", h), info.get("width", w)) != (h, w):
        raise DatasetError(
            f"{path}: image is {w}x{h} but the ground truth says "
            f"{info.get('width')}x{info.get('height')}"
        )
    return image
