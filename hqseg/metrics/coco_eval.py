"""COCO mask AP and boundary AP on pycocotools' COCOeval (FACTS §4).

``segm`` is plain pycocotools. ``boundary`` follows boundary-iou-api: a non-crowd GT
is matched on min(mask IoU, boundary IoU), a crowd GT on the usual crowd mask IoU
|D ∩ G| / |D|, and a GT's own ``ignore`` flag is honoured besides ``iscrowd``. Area
ranges use the GT ``area`` field and each result's area as ``loadRes`` sets it.

The numbers equal the reference; what changes is the work: boundaries are computed once
per annotation on bounding-box crops, a chunk of annotations at a time
(:mod:`hqseg.metrics.rle_batch`; a process pool for large inputs), only for scored
detections and only for (dt, gt) pairs whose masks overlap (elsewhere both IoUs are 0,
as boundaries lie inside masks); the mask IoUs are shared between the ``segm`` and
``boundary`` passes; and COCOeval's per-image matching and accumulation run vectorised
(:mod:`hqseg.metrics.matching`, identical arrays).
"""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from hqseg.metrics.boundary_pass import ImageJob, boundary_ious
from hqseg.metrics.coco_io import load_gt, load_results
from hqseg.metrics.matching import Cell, accumulate, match_cells

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
        # (image, category ids) -> ({dt id: row}, {gt id: column}, D x G mask IoUs)
        self.image_mask: dict[tuple, tuple[dict, dict, np.ndarray]] = {}
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
        self._scored_memo: dict[tuple, tuple[list[dict], list[dict]]] = {}
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
        memo = self._scored_memo.get((img_id, cat_id))
        if memo is not None:
            return memo
        if self.params.useCats:
            gt, dt = self._gts[img_id, cat_id], self._dts[img_id, cat_id]
        else:
            cats = self.params.catIds
            gt = [g for c in cats for g in self._gts[img_id, c]]
            dt = [d for c in cats for d in self._dts[img_id, c]]
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        memo = gt, [dt[i] for i in order[: self.params.maxDets[-1]]]
        self._scored_memo[img_id, cat_id] = memo
        return memo

    def _image_mask_ious(self, img_id) -> tuple[dict, dict, np.ndarray]:
        """Mask IoUs of all the image's detections x GTs in one pycocotools call, with the
        row of each dt id and the column of each gt id; each entry is that of the
        per-cell call (pycocotools scores every pair on its own)."""
        key = (img_id, tuple(self.params.catIds))
        hit = self.cache.image_mask.get(key)
        if hit is None:
            cats = self.params.catIds
            gt = [g for c in cats for g in self._gts.get((img_id, c), ())]
            dt = [d for c in cats for d in self._dts.get((img_id, c), ())]
            ious = mask_utils.iou(
                [d["segmentation"] for d in dt],
                [g["segmentation"] for g in gt],
                [int(g["iscrowd"]) for g in gt],
            )
            hit = self.cache.image_mask[key] = (
                {d["id"]: i for i, d in enumerate(dt)},
                {g["id"]: j for j, g in enumerate(gt)},
                np.asarray(ious, np.float64).reshape(len(dt), len(gt)),
            )
        return hit

    def _mask_ious(self, img_id, cat_id, gt: list[dict], dt: list[dict]):
        """pycocotools' mask IoU matrix (D x G, or [] if either is empty), cached."""
        key = (img_id, cat_id, tuple(d["id"] for d in dt), tuple(g["id"] for g in gt))
        ious = self.cache.mask.get(key)
        if ious is None:
            if not gt or not dt:
                ious = []
            else:
                rows, cols, full = self._image_mask_ious(img_id)
                ious = full[np.ix_([rows[d["id"]] for d in dt], [cols[g["id"]] for g in gt])]
            self.cache.mask[key] = ious
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

    def _cell_ious(self, img_id, cat_id) -> tuple[list[dict], list[dict], np.ndarray | list]:
        """Scored GTs and detections of one cell and their IoU matrix (D x G, or [])."""
        gt, dt = self._scored(img_id, cat_id)
        if len(gt) == 0 and len(dt) == 0:
            return gt, dt, []
        mask = self._mask_ious(img_id, cat_id, gt, dt)
        if self.iou_type == "segm" or len(gt) == 0 or len(dt) == 0:
            return gt, dt, mask
        ious = np.array(mask, dtype=np.float64)
        # boundaries lie inside masks: where the masks do not meet, both IoUs are 0
        boundary = self.cache.boundary
        for i, j in zip(*np.nonzero(ious > 0), strict=True):
            if not gt[j]["iscrowd"]:
                ious[i, j] = min(ious[i, j], boundary.get((dt[i]["id"], gt[j]["id"]), 0.0))
        return gt, dt, ious

    def computeIoU(self, imgId, catId):  # noqa: N802, N803 (COCOeval's names)
        # _scored pools the categories when useCats is 0, so both modes go through here
        return self._cell_ious(imgId, catId)[2]

    def evaluate(self):
        """COCOeval.evaluate with the matching vectorised (:mod:`hqseg.metrics.matching`).

        Fills ``ious`` for the (image, category) cells that have GT or detections;
        ``evalImgs`` stays empty until :meth:`eval_imgs` is called (``accumulate``
        does not need it).
        """
        p = self.params
        if not p.useCats or p.useSegm is not None:
            self._cells = None
            return super().evaluate()
        p.imgIds = list(np.unique(p.imgIds))
        p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self._prepare()
        img_index = {img: n for n, img in enumerate(p.imgIds)}
        cat_index = {cat: n for n, cat in enumerate(p.catIds)}
        keys = {k for k, v in self._gts.items() if v} | {k for k, v in self._dts.items() if v}
        keys = sorted(keys, key=lambda k: (img_index[k[0]], cat_index[k[1]]))
        self.ious, cells = {}, []
        for key in keys:
            gt, dt, ious = self._cell_ious(*key)
            self.ious[key] = ious
            cells.append(
                Cell(
                    img_index[key[0]],
                    cat_index[key[1]],
                    np.asarray(ious, np.float64),
                    np.array([g["id"] for g in gt], np.int64),
                    np.array([g["area"] for g in gt], np.float64),
                    np.array([bool(g["ignore"]) for g in gt], bool),
                    np.array([bool(g["iscrowd"]) for g in gt], bool),
                    np.array([d["id"] for d in dt], np.int64),
                    np.array([d["area"] for d in dt], np.float64),
                    np.array([d["score"] for d in dt], np.float64),
                )
            )
        self._cells = cells
        self._matches = match_cells(cells, p.iouThrs, p.areaRng)
        self.evalImgs = []
        self._paramsEval = copy.deepcopy(self.params)

    def eval_imgs(self) -> list:
        """pycocotools' per-image ``evalImgs`` list (computed on demand, slowly)."""
        if not self.evalImgs:
            p = self.params
            cats = p.catIds if p.useCats else [-1]
            for key in ((i, c) for i in p.imgIds for c in cats):
                self.ious.setdefault(key, [])
            self.evalImgs = [
                self.evaluateImg(img, cat, rng, p.maxDets[-1])
                for cat in cats
                for rng in p.areaRng
                for img in p.imgIds
            ]
        return self.evalImgs

    def accumulate(self, p=None):
        if p is not None or getattr(self, "_cells", None) is None:
            self.eval_imgs()
            return super().accumulate(p)
        p = self.params
        self.eval = {
            "params": p,
            "counts": [
                len(p.iouThrs),
                len(p.recThrs),
                len(p.catIds),
                len(p.areaRng),
                len(p.maxDets),
            ],
            **accumulate(
                self._cells,
                self._matches,
                n_cats=len(p.catIds),
                iou_thrs=p.iouThrs,
                rec_thrs=p.recThrs,
                n_areas=len(p.areaRng),
                max_dets=p.maxDets,
            ),
        }


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
