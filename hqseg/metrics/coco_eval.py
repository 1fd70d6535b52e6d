"""COCO mask AP and boundary AP on pycocotools' COCOeval (FACTS §4).

``segm`` is plain pycocotools. ``boundary`` follows boundary-iou-api: a non-crowd GT
is matched on min(mask IoU, boundary IoU), a crowd GT on the usual crowd mask IoU
|D ∩ G| / |D|, and a GT's own ``ignore`` flag is honoured besides ``iscrowd``. Area
ranges use the GT ``area`` field and each result's area as ``loadRes`` sets it.

The numbers equal the reference; what changes is the work: boundaries are computed once
per annotation on bounding-box crops (all cores), only for scored detections and only
for (dt, gt) pairs whose masks overlap (elsewhere both IoUs are 0, as boundaries lie
inside masks), and the mask IoUs are shared between the ``segm`` and ``boundary`` passes.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from hqseg.metrics.boundary_pass import ImageJob, boundary_ious
from hqseg.metrics.coco_io import load_gt, load_results

IOU_TYPES = ("segm", "boundary")
STAT_NAMES = (
    "AP", "AP50", "AP75", "APs", "APm", "APl",
    "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
)  # fmt: skip


class IoUCache:
    """IoUs shared by the evaluations of one (ground truth, results) pair.

    Holds the GT ``ignore`` flags as loaded (pycocotools overwrites them while
    preparing), the mask-IoU matrices and the boundary IoUs of the pairs done so far.
    Create it before any evaluation touches ``coco_gt``.
    """

    def __init__(self, coco_gt: COCO):
        self.ignore = {a["id"]: a.get("ignore", 0) for a in coco_gt.dataset.get("annotations", [])}
        self.mask: dict[tuple, np.ndarray | list] = {}
        self.boundary: dict[tuple[int, int], float] = {}
        self.boundary_done: set[tuple[int, int]] = set()  # (dt_id, gt_id) pairs computed


class BoundaryCOCOeval(COCOeval):
    """COCOeval for ``iou_type`` "segm" (mask AP) or "boundary" (boundary AP).

    Use like pycocotools' COCOeval: ``evaluate()``, ``accumulate()``, ``summarize()``,
    then read ``stats`` (12 values, order of :data:`STAT_NAMES`). With
    ``params.useCats = 0`` detections match GT of any category, as in pycocotools.

    Args:
        coco_gt, coco_dt: ground truth and ``coco_gt.loadRes(...)`` results.
        iou_type: "segm" or "boundary".
        dilation_ratio: boundary width as a fraction of the image diagonal.
        workers: processes for the boundary pass (None: all cores).
        cache: an :class:`IoUCache` to share work with another evaluation of the same pair.
    """

    def __init__(
        self,
        coco_gt: COCO,
        coco_dt: COCO,
        iou_type: str = "boundary",
        *,
        dilation_ratio: float = 0.02,
        workers: int | None = None,
        cache: IoUCache | None = None,
    ):
        if iou_type not in IOU_TYPES:
            raise ValueError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
        super().__init__(coco_gt, coco_dt, "segm")
        self.iou_type = iou_type
        self.dilation_ratio = dilation_ratio
        self.workers = workers
        self.cache = cache if cache is not None else IoUCache(coco_gt)

    def _prepare(self):
        super()._prepare()
        if self.iou_type != "boundary":
            return
        for gts in self._gts.values():
            for g in gts:
                g["ignore"] = self.cache.ignore.get(g["id"], 0) or ("iscrowd" in g and g["iscrowd"])
        self._boundary_pass()

    def _keys(self) -> list[tuple]:
        """The (image, category) cells COCOeval scores; category -1 for all when not useCats."""
        if self.params.useCats:
            return sorted(self._gts.keys() & self._dts.keys())
        return [(img_id, -1) for img_id in self.params.imgIds]

    def _scored(self, img_id, cat_id) -> tuple[list[dict], list[dict]]:
        """GTs and the top ``maxDets[-1]`` detections by score, as COCOeval scores them."""
        if self.params.useCats:
            gt, dt = self._gts[img_id, cat_id], self._dts[img_id, cat_id]
        else:
            cats = self.params.catIds
            gt = [g for c in cats for g in self._gts[img_id, c]]
            dt = [d for c in cats for d in self._dts[img_id, c]]
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        return gt, [dt[i] for i in order[: self.params.maxDets[-1]]]

    def _mask_ious(self, img_id, cat_id, gt: list[dict], dt: list[dict]):
        """pycocotools' mask IoU matrix (D x G, or [] if either is empty), cached."""
        key = (img_id, cat_id, tuple(d["id"] for d in dt), tuple(g["id"] for g in gt))
        ious = self.cache.mask.get(key)
        if ious is None:
            iscrowd = [int(g["iscrowd"]) for g in gt]
            segs = [d["segmentation"] for d in dt], [g["segmentation"] for g in gt]
            ious = self.cache.mask[key] = mask_utils.iou(*segs, iscrowd)
        return ious

    def _boundary_pass(self) -> None:
        """Boundary IoUs of all scored non-crowd pairs whose masks overlap, in one batch."""
        per_image: dict[int, tuple[dict, list]] = {}
        done = self.cache.boundary_done
        for key in self._keys():
            gt, dt = self._scored(*key)
            if not gt or not dt:
                continue
            ious = self._mask_ious(*key, gt, dt)
            rles, pairs = per_image.setdefault(key[0], ({}, []))
            for i, j in zip(*np.nonzero(np.asarray(ious) > 0), strict=True):
                pair = (dt[i]["id"], gt[j]["id"])
                if not gt[j]["iscrowd"] and pair not in done:
                    rles["dt", pair[0]] = dt[i]["segmentation"]
                    rles["gt", pair[1]] = gt[j]["segmentation"]
                    pairs.append(pair)
                    done.add(pair)
        jobs = []
        for img_id, (rles, pairs) in per_image.items():
            if pairs:
                img = self.cocoGt.imgs[img_id]
                jobs.append(ImageJob(img["height"], img["width"], rles, pairs))
        self.cache.boundary.update(
            boundary_ious(jobs, dilation_ratio=self.dilation_ratio, workers=self.workers)
        )

    def computeIoU(self, imgId, catId):  # noqa: N802, N803 (COCOeval's names)
        gt, dt = self._scored(imgId, catId)
        if len(gt) == 0 and len(dt) == 0:
            return []
        mask = self._mask_ious(imgId, catId, gt, dt)
        if self.iou_type == "segm" or len(gt) == 0 or len(dt) == 0:
            return mask
        ious = np.array(mask, dtype=np.float64)
        # boundaries lie inside masks: where the masks do not meet, both IoUs are 0
        for i, j in zip(*np.nonzero(ious > 0), strict=True):
            if not gt[j]["iscrowd"]:
                b = self.cache.boundary.get((dt[i]["id"], gt[j]["id"]), 0.0)
                ious[i, j] = min(ious[i, j], b)
        return ious


def evaluate_coco(
    gt: str | Path | dict | COCO,
    results: str | Path | list,
    iou_types: tuple[str, ...] | list[str] = IOU_TYPES,
    *,
    workers: int | None = None,
    dilation_ratio: float = 0.02,
    use_cats: bool = True,
    verbose: bool = False,
) -> dict[str, dict[str, float]]:
    """Mask AP and/or boundary AP of a segm results file against COCO ground truth.

    Args:
        gt: COCO ground-truth JSON path, dict (not modified) or pycocotools COCO.
        results: COCO segm results JSON path or list of dicts (not modified); each has
            ``image_id``, ``category_id``, ``score`` and an RLE ``segmentation``. An empty
            list means no detections: 0 wherever there is ground truth, as COCOeval gives.
        iou_types: any of "segm", "boundary".
        workers: processes for the boundary pass (None: all cores; 1: serial).
        dilation_ratio: boundary width as a fraction of the image diagonal (0.02).
        use_cats: COCOeval's ``params.useCats``; False matches across categories.
        verbose: let pycocotools print its progress and summary.

    Returns:
        ``{iou_type: {stat name: value}}`` with the 12 :data:`STAT_NAMES` per type
        (-1.0 where COCOeval has no ground truth for a stat).

    Raises:
        hqseg.errors.DatasetError: missing, malformed or mismatched input files.
    """
    unknown = [t for t in iou_types if t not in IOU_TYPES]
    if unknown:
        raise ValueError(f"unknown iou types {unknown}; choose from {IOU_TYPES}")
    coco_gt = load_gt(gt)
    cache = IoUCache(coco_gt)
    coco_dt = load_results(coco_gt, results)
    out = {}
    for iou_type in iou_types:
        ev = BoundaryCOCOeval(
            coco_gt, coco_dt, iou_type, dilation_ratio=dilation_ratio, workers=workers, cache=cache
        )
        ev.params.useCats = int(use_cats)
        quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
        with quiet:
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        out[iou_type] = {name: float(v) for name, v in zip(STAT_NAMES, ev.stats, strict=True)}
    return out
