"""Type and value checks of COCO ground truth and segm results, before pycocotools runs.

pycocotools answers a wrong type with a TypeError or an AssertionError deep inside
COCOeval, and takes NaN scores, negative or corrupt RLE counts without a word. These
checks raise :class:`hqseg.errors.DatasetError` naming the file, the entry and the
problem. Per entry they are a few ``isinstance`` tests; the RLE counts of a whole file
are decoded and checked together in one vectorised pass (:func:`check_counts`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from hqseg.errors import DatasetError
from hqseg.metrics.rle_batch import counts_many, totals

#: pycocotools stores run lengths as 32-bit unsigned integers
MAX_PIXELS = (1 << 32) - 1


def is_int(v: Any) -> bool:
    """An integer that is not a bool (JSON's int first: the ABC check is slow)."""
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def is_number(v: Any) -> bool:
    """A finite real number that is not a bool."""
    if type(v) is float:
        return math.isfinite(v)
    if type(v) is int:
        return True
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_id(v: Any) -> bool:
    return is_int(v) or isinstance(v, str)


def check_image(img: Any, name: str) -> None:
    """An image entry: ``id``, positive integer ``height`` and ``width``, str ``file_name``."""
    if not isinstance(img, dict) or not all(k in img for k in ("id", "height", "width")):
        raise DatasetError(f"{name}: an image entry lacks 'id', 'height' or 'width': {img!r:.80}")
    where = f"{name}: image {img['id']!r:.40}"
    if not _is_id(img["id"]):
        raise DatasetError(f"{where}: 'id' must be an integer or a string")
    h, w = img["height"], img["width"]
    if not (is_int(h) and is_int(w) and h >= 1 and w >= 1):
        raise DatasetError(
            f"{where}: 'height' and 'width' must be positive integers, got {h!r:.20} x {w!r:.20}"
        )
    if h * w > MAX_PIXELS:
        raise DatasetError(f"{where}: {h} x {w} pixels are more than a COCO RLE can hold")
    if "file_name" in img and not isinstance(img["file_name"], str):
        raise DatasetError(f"{where}: 'file_name' must be a string, got {img['file_name']!r:.40}")


def check_bbox(entry: dict, where: str) -> None:
    """An optional ``bbox``: a list of 4 finite numbers."""
    box = entry.get("bbox")
    if box is not None and not (
        isinstance(box, list) and len(box) == 4 and all(is_number(v) for v in box)
    ):
        raise DatasetError(f"{where}: 'bbox' must be a list of 4 finite numbers, got {box!r:.60}")


def _flag(entry: dict, key: str, where: str) -> None:
    v = entry.get(key, 0)
    if not (isinstance(v, bool) or (is_int(v) and v in (0, 1))):
        raise DatasetError(f"{where}: '{key}' must be 0 or 1, got {v!r:.40}")


def check_gt_annotation(ann: dict, img: dict, where: str, later: list) -> None:
    """A GT annotation's types; its RLE counts are appended to ``later`` (:func:`check_counts`)."""
    if not _is_id(ann["id"]) or not _is_id(ann["category_id"]):
        raise DatasetError(f"{where}: 'id' and 'category_id' must be integers or strings")
    if not is_number(ann["area"]) or ann["area"] < 0:
        raise DatasetError(f"{where}: 'area' must be a number >= 0, got {ann['area']!r:.40}")
    _flag(ann, "iscrowd", where)
    _flag(ann, "ignore", where)
    check_bbox(ann, where)
    seg = ann["segmentation"]
    if isinstance(seg, list):
        for poly in seg:
            if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0):
                raise DatasetError(f"{where}: a polygon must be a list of x, y pairs (3 or more)")
            if not all(is_number(v) for v in poly):
                raise DatasetError(f"{where}: polygon coordinates must be finite numbers")
        if not seg:
            raise DatasetError(f"{where}: 'segmentation' is an empty list")
    else:
        check_rle(seg, img, where, later)


def check_result(r: Any, img: dict, where: str, later: list) -> None:
    """A result's ``score``, ``bbox`` and RLE form; its counts are appended to ``later``."""
    score = r["score"]
    real = type(score) is float or (isinstance(score, numbers.Real) and type(score) is not bool)
    if not real:
        raise DatasetError(f"{where} has a non-numeric score {score!r:.40}")
    if not math.isfinite(score):
        raise DatasetError(f"{where} has a score of {score!r}: scores must be finite")
    if "bbox" in r:
        check_bbox(r, where)
    check_rle(r.get("segmentation"), img, where, later)


def check_rle(seg: Any, img: dict, where: str, later: list) -> None:
    """An RLE's form and size; ``(counts, height x width, where)`` is appended to ``later``."""
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise DatasetError(f"{where}: segmentation must be an RLE dict with 'size' and 'counts'")
    size = seg["size"]
    if not (isinstance(size, list) and len(size) == 2 and is_int(size[0]) and is_int(size[1])):
        raise DatasetError(f"{where}: RLE 'size' must be [height, width], got {size!r:.40}")
    if size != [img["height"], img["width"]]:
        raise DatasetError(
            f"{where}: RLE size {size} differs from the image size {[img['height'], img['width']]}"
        )
    counts = seg["counts"]
    if not isinstance(counts, (str, bytes, list)):
        raise DatasetError(f"{where}: RLE 'counts' must be a string or a list of integers")
    later.append((counts, img["height"] * img["width"], where))


def _list_problem(counts: list) -> str | None:
    """Why a list of counts is not a list of integers >= 0 (None if it is)."""
    arr = np.asarray(counts) if counts else np.zeros(0, np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        return "not a list of integers"
    return "negative" if arr.size and arr.min() < 0 else None


def check_counts(items: list[tuple[Any, int, str]]) -> None:
    """Raise for the first ``(counts, pixels, where)`` whose counts are not a valid RLE of
    ``pixels`` pixels: corrupt or non-ASCII strings, negative or non-integer counts, or
    counts that do not add up to height x width. One decode for all items."""
    if not items:
        return
    counts, want = [], np.array([p for _, p, _ in items], np.int64)
    why: dict[int, str] = {}
    for i, (c, _, _) in enumerate(items):
        if isinstance(c, list) and (problem := _list_problem(c)):
            why[i], c = problem, []
        elif isinstance(c, str) and not c.isascii():
            why[i], c = "not ASCII", ""
        counts.append(c)
    values, bounds, corrupt = counts_many(counts)
    if values.size and values.min() < 0:
        for i in np.searchsorted(bounds, np.flatnonzero(values < 0), side="right") - 1:
            why.setdefault(int(i), "negative")
    bad = corrupt | (totals(values, bounds) != want)
    bad[list(why)] = True
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = why.get(i, "corrupt (they do not cover height x width)")
        raise DatasetError(f"{items[i][2]}: RLE counts are {what}")
