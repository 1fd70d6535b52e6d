"""COCO RLE helpers: decoding to a tight crop, boundaries and IoUs on RLEs (FACTS §4).

The boundary of a mask never leaves the mask's bounding box, and the band only needs the
box plus the one-pixel zero ring of the reference rule: pixels outside the box are
background, so eroding the box crop padded by one zero pixel gives exactly the crop of
the full-image erosion. Working on crops avoids decoding, eroding and re-encoding the
whole image for every annotation, which is what makes boundary AP slow in the reference.

Conventions: RLEs are pycocotools dicts ``{"size": [H, W], "counts": ...}`` in
column-major (Fortran) order; ``counts`` is a compressed string/bytes or a list of ints
(uncompressed). Crops are ``(y0, x0, array)`` with the array's top-left at row y0, col x0.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from hqseg.metrics.masks import boundary_dilation

_KERNEL = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class Crop:
    """A binary mask stored as its tight bounding-box crop.

    ``mask`` is an (h, w) uint8 0/1 array placed at row ``y0``, column ``x0`` of an
    image of ``size`` (H, W); ``area`` is its number of ones. Empty masks have a
    (0, 0) array.
    """

    y0: int
    x0: int
    mask: np.ndarray
    size: tuple[int, int]
    area: int

    def to_array(self) -> np.ndarray:
        """The full (H, W) uint8 mask."""
        full = np.zeros(self.size, np.uint8)
        h, w = self.mask.shape
        full[self.y0 : self.y0 + h, self.x0 : self.x0 + w] = self.mask
        return full


def segmentation_to_rle(segmentation, height: int, width: int) -> dict:
    """Polygon list, uncompressed RLE or compressed RLE -> compressed RLE (as pycocotools)."""
    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation.get("counts"), list):
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


def rle_counts(rle: dict) -> np.ndarray:
    """Run lengths (int64) of an RLE, decoding pycocotools' compressed string if needed."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return np.asarray(counts, np.int64)
    raw = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    if not raw:
        return np.zeros(0, np.int64)
    c = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    last = np.flatnonzero((c & 0x20) == 0)  # last character of each value
    first = np.empty_like(last)
    first[0] = 0
    first[1:] = last[:-1] + 1
    if last.size == c.size:  # every value fits in one character (the common case)
        values = c & 0x1F
        shift_last = np.zeros(c.size, np.int64)
    else:
        shift = np.arange(c.size) - np.repeat(first, last - first + 1)
        values = np.add.reduceat((c & 0x1F) << (5 * shift), first)
        shift_last = 5 * shift[last]
    negative = (c[last] & 0x10) != 0
    values[negative] -= np.left_shift(1, shift_last[negative] + 5)
    # values from index 3 on are deltas to the value two places before
    out = values.copy()
    out[1::2] = np.cumsum(values[1::2])
    out[2::2] = np.cumsum(values[2::2])
    return out


def rle_to_crop(rle: dict) -> Crop:
    """Decode an RLE straight into its tight bounding-box crop."""
    h, w = (int(s) for s in rle["size"])
    counts = rle_counts(rle)
    ends = np.cumsum(counts)
    starts = ends - counts
    s, e = starts[1::2], ends[1::2]
    keep = e > s
    s, e = s[keep], e[keep]
    if s.size == 0:
        return Crop(0, 0, np.zeros((0, 0), np.uint8), (h, w), 0)
    c0, c1 = int(s[0] // h), int((e[-1] - 1) // h) + 1
    # expand the runs over the columns c0..c1 only, then cut the rows the runs reach
    bounds = np.minimum(np.maximum(np.concatenate([[0], ends]), c0 * h), c1 * h)
    values = np.zeros(counts.size, np.uint8)
    values[1::2] = 1
    cols = np.repeat(values, np.diff(bounds)).reshape(c1 - c0, h).T  # (h, c1 - c0)
    one_column = (s // h) == ((e - 1) // h)
    spans = not one_column.all()  # a run crossing columns covers the top or bottom row
    r0 = 0 if spans else int((s % h).min())
    r1 = h if spans else int(((e - 1) % h).max()) + 1
    crop = np.ascontiguousarray(cols[r0:r1])
    return Crop(r0, c0, crop, (h, w), int((e - s).sum()))


def crop_boundary(crop: Crop, d: int) -> Crop:
    """Boundary band of width ``d`` of a cropped mask, as a crop in the same box."""
    if crop.area == 0:
        return crop
    padded = cv2.copyMakeBorder(crop.mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, _KERNEL, iterations=d)[1:-1, 1:-1]
    band = crop.mask - eroded
    return Crop(crop.y0, crop.x0, band, crop.size, int(np.count_nonzero(band)))


def crop_iou(a: Crop, b: Crop) -> float:
    """|A ∩ B| / |A ∪ B| of two crops of the same image; 0.0 when they do not meet.

    Equals pycocotools' non-crowd RLE IoU bit for bit (0 when the intersection is empty).
    """
    y0, x0 = max(a.y0, b.y0), max(a.x0, b.x0)
    y1 = min(a.y0 + a.mask.shape[0], b.y0 + b.mask.shape[0])
    x1 = min(a.x0 + a.mask.shape[1], b.x0 + b.mask.shape[1])
    if y1 <= y0 or x1 <= x0:
        return 0.0
    pa = a.mask[y0 - a.y0 : y1 - a.y0, x0 - a.x0 : x1 - a.x0]
    pb = b.mask[y0 - b.y0 : y1 - b.y0, x0 - b.x0 : x1 - b.x0]
    inter = int(np.count_nonzero(pa & pb))
    if inter == 0:
        return 0.0
    return inter / (a.area + b.area - inter)


def boundary_rle(rle: dict, d: int | None = None, dilation_ratio: float = 0.02) -> dict:
    """Boundary of an RLE mask as a compressed RLE; d from the image size when None."""
    h, w = (int(s) for s in rle["size"])
    if d is None:
        d = boundary_dilation(h, w, dilation_ratio)
    band = crop_boundary(rle_to_crop(rle), d).to_array()
    return mask_utils.encode(np.asfortranarray(band))


def mask_iou_rle(gt: dict, dt: dict, iscrowd: bool = False) -> float:
    """pycocotools IoU of two RLEs; with ``iscrowd`` it is |D ∩ G| / |D|."""
    return float(mask_utils.iou([dt], [gt], [int(iscrowd)])[0, 0])


def boundary_iou_rle(gt: dict, dt: dict, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU of two RLE masks of the same image size (0.0 if both are empty)."""
    if list(gt["size"]) != list(dt["size"]):
        raise ValueError(f"RLE sizes differ: {gt['size']} vs {dt['size']}")
    h, w = (int(s) for s in gt["size"])
    d = boundary_dilation(h, w, dilation_ratio)
    return crop_iou(crop_boundary(rle_to_crop(gt), d), crop_boundary(rle_to_crop(dt), d))
