"""Straightforward reference for the boundary rule and boundary AP (FACTS §4).

Written from the definition, independently of ``hqseg.metrics``: full-image masks,
one-pixel zero padding, a 3x3 erosion repeated d times, and boundaries attached to
every annotation and combined in ``computeIoU`` the way boundary-iou-api wires them
into COCOeval. The ``rounding`` and ``pad`` knobs reproduce classic mistakes so that
tests can show the data is sensitive to them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
from collections.abc import Callable

import cv2
import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def reference_d(height: int, width: int, rounding: Callable[[float], float] = round) -> int:
    """Boundary width: rounding(0.02 * diagonal), at least 1."""
    return max(1, int(rounding(0.02 * math.sqrt(height**2 + width**2))))


def _erode3x3(a: np.ndarray) -> np.ndarray:
    # pixels outside the array do not erode (they count as foreground), like OpenCV
    p = np.pad(a, 1, constant_values=1)
    h, w = a.shape
    out = a.copy()
    for dy in range(3):
        for dx in range(3):
            out = np.minimum(out, p[dy : dy + h, dx : dx + w])
    return out


def reference_boundary(
    mask: np.ndarray,
    *,
    rounding: Callable[[float], float] = round,
    pad: bool = True,
    fast_erode: bool = False,
) -> np.ndarray:
    """(H, W) uint8 boundary of an (H, W) binary mask, d from the mask's (image) size.

    ``fast_erode`` uses OpenCV's ``erode(iterations=d)`` (what boundary-iou-api calls)
    instead of the numpy 3x3 loop; both are full-image and per annotation.
    """
    m = (np.asarray(mask) != 0).astype(np.uint8)
    h, w = m.shape
    d = reference_d(h, w, rounding)
    work = np.pad(m, 1, constant_values=0) if pad else m
    if fast_erode:
        work = cv2.erode(work, np.ones((3, 3), np.uint8), iterations=d)
    else:
        for _ in range(d):
            work = _erode3x3(work)
    eroded = work[1 : h + 1, 1 : w + 1] if pad else work
    return m - eroded


class ReferenceBoundaryEval(COCOeval):
    """COCOeval with boundary-iou-api's boundary rule, computed the slow way."""

    def __init__(self, coco_gt: COCO, coco_dt: COCO, boundary_fn=reference_boundary):
        super().__init__(coco_gt, coco_dt, "segm")
        self._orig_ignore = {a["id"]: a.get("ignore", 0) for a in coco_gt.dataset["annotations"]}
        for coco in (coco_gt, coco_dt):
            for ann in coco.dataset["annotations"]:
                b = boundary_fn(coco.annToMask(ann))
                ann["boundary"] = mask_utils.encode(np.array(b[:, :, None], order="F"))[0]

    def _prepare(self):
        super()._prepare()
        for gts in self._gts.values():
            for g in gts:
                g["ignore"] = self._orig_ignore[g["id"]] or ("iscrowd" in g and g["iscrowd"])

    def computeIoU(self, imgId, catId):  # noqa: N802, N803 (COCOeval's names)
        if self.params.useCats:
            gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
        else:  # all categories together, in COCOeval's order
            gt = [g for c in self.params.catIds for g in self._gts[imgId, c]]
            dt = [d for c in self.params.catIds for d in self._dts[imgId, c]]
        if len(gt) == 0 and len(dt) == 0:
            return []
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in order][: self.params.maxDets[-1]]
        iscrowd = [int(g["iscrowd"]) for g in gt]
        mask_ious = mask_utils.iou(
            [d["segmentation"] for d in dt], [g["segmentation"] for g in gt], iscrowd
        )
        b_ious = mask_utils.iou([d["boundary"] for d in dt], [g["boundary"] for g in gt], iscrowd)
        mask_ious, b_ious, crowd = np.array(mask_ious), np.array(b_ious), np.array(iscrowd)
        if len(gt) and len(dt):
            mask_ious[:, crowd == 0] = np.minimum(mask_ious[:, crowd == 0], b_ious[:, crowd == 0])
            return mask_ious
        return np.minimum(mask_ious, b_ious)


def _load(gt: dict, results: list[dict]) -> tuple[COCO, COCO]:
    coco_gt = COCO()
    coco_gt.dataset = copy.deepcopy(gt)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        else:  # loadRes([]) raises IndexError; no detections is a result COCO without anns
            coco_dt = COCO()
            coco_dt.dataset = {
                "images": copy.deepcopy(gt["images"]),
                "categories": copy.deepcopy(gt["categories"]),
                "annotations": [],
            }
            coco_dt.createIndex()
    return coco_gt, coco_dt


def _run(ev: COCOeval, use_cats: bool = True) -> np.ndarray:
    ev.params.useCats = int(use_cats)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def reference_boundary_stats(
    gt: dict, results: list[dict], *, use_cats: bool = True, **boundary_kwargs
) -> np.ndarray:
    """The 12 boundary-AP stats, computed the reference way."""
    coco_gt, coco_dt = _load(gt, results)

    def fn(m):
        return reference_boundary(m, **boundary_kwargs)

    return _run(ReferenceBoundaryEval(coco_gt, coco_dt, fn), use_cats)


def pycocotools_segm_stats(gt: dict, results: list[dict], *, use_cats: bool = True) -> np.ndarray:
    """The 12 mask-AP stats from plain pycocotools."""
    coco_gt, coco_dt = _load(gt, results)
    return _run(COCOeval(coco_gt, coco_dt, "segm"), use_cats)
