"""COCOeval's matching and accumulation, vectorised, with identical numbers.

pycocotools' ``COCOeval.evaluateImg`` matches detections to ground truth in three
nested Python loops (thresholds x detections x GT) for every image, category and
area range, and ``accumulate`` walks those per-image dicts again for every
(category, area range, maxDets). Once IoUs are cheap, those loops are most of the
cost of boundary AP. Here the same greedy rule runs for many (image, category)
cells at once: one numpy step per detection rank, over cells x area ranges x
thresholds x GT.

The rule, as pycocotools applies it (every detail changes numbers somewhere):

* detections in score order (stable sort), the first ``maxDets[-1]`` of them;
* at threshold t, a detection takes, among the GT not yet taken at t (crowd GT can
  be taken again), the one with the highest IoU >= min(t, 1 - 1e-10); ties go to
  the later GT; ignored GT (``ignore``/crowd flag, or area outside the range) are
  considered only when no other GT qualifies;
* a detection matched to an ignored GT is ignored, and so is an unmatched one whose
  area is outside the range; a GT is only marked taken by a detection id > 0, and a
  match to a GT id 0 counts as no match (pycocotools stores ids and tests them
  against 0);
* accumulation concatenates, per (category, area range, maxDets), the first maxDets
  detections of each image in image-id order, sorts them by score (stable), and
  builds the interpolated precision at the recall thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# cells x area ranges x thresholds x GT elements per numpy step (bounds the memory)
_BLOCK_ELEMENTS = 1 << 18


@dataclass
class Cell:
    """One (image, category) with ground truth or detections, as COCOeval sees it.

    GT are in ``_gts`` order; detections sorted by score (stable) and cut to
    ``maxDets[-1]``, the order of the IoU matrix ``ious`` (D x G; may be empty when
    D or G is 0).
    """

    img_index: int  # position of the image in params.imgIds
    cat_index: int  # position of the category in params.catIds
    ious: np.ndarray
    gt_ids: np.ndarray  # (G,) int64
    gt_area: np.ndarray  # (G,) float64
    gt_ignore: np.ndarray  # (G,) bool: ignore flag (crowd included)
    gt_crowd: np.ndarray  # (G,) bool
    dt_ids: np.ndarray  # (D,) int64
    dt_area: np.ndarray  # (D,) float64
    dt_score: np.ndarray  # (D,) float64


@dataclass
class Matches:
    """Per-cell results: ``dt_matched``/``dt_ignore`` (A, T, D) bool, ``npig`` (A,) int."""

    dt_matched: np.ndarray
    dt_ignore: np.ndarray
    npig: np.ndarray


def _out_of_range(area: np.ndarray, area_rngs: np.ndarray) -> np.ndarray:
    """(..., A, n) bool: area < lo or area > hi, for each range."""
    return (area[..., None, :] < area_rngs[:, 0, None]) | (
        area[..., None, :] > area_rngs[:, 1, None]
    )


def _match_block(cells: Sequence[Cell], thr: np.ndarray, area_rngs: np.ndarray) -> list[Matches]:
    """Greedy matching of cells (sorted by D, descending) padded to one shape."""
    n, t_n, a_n = len(cells), len(thr), len(area_rngs)
    d_n = len(cells[0].dt_ids)
    g_n = max(1, max(len(c.gt_ids) for c in cells))  # a padded GT is never chosen
    ious = np.full((n, d_n, g_n), -np.inf)
    gt_ids = np.zeros((n, g_n), np.int64)
    gt_area = np.zeros((n, g_n))
    flag = np.ones((n, g_n), bool)
    crowd = np.zeros((n, g_n), bool)
    dt_ids = np.zeros((n, d_n), np.int64)
    dt_area = np.zeros((n, d_n))
    d_of = np.array([len(c.dt_ids) for c in cells])
    for i, c in enumerate(cells):
        d, g = c.ious.shape if c.ious.size else (0, 0)
        if d and g:
            ious[i, :d, :g] = c.ious
        g = len(c.gt_ids)
        gt_ids[i, :g], gt_area[i, :g] = c.gt_ids, c.gt_area
        flag[i, :g], crowd[i, :g] = c.gt_ignore, c.gt_crowd
        d = len(c.dt_ids)
        dt_ids[i, :d], dt_area[i, :d] = c.dt_ids, c.dt_area
    gt_ig = flag[:, None, :] | _out_of_range(gt_area, area_rngs)  # (n, A, G)
    taken = np.zeros((n, a_n, t_n, g_n), bool)
    matched = np.zeros((n, a_n, t_n, d_n), bool)
    ignored = np.zeros((n, a_n, t_n, d_n), bool)
    thr4 = thr[None, None, :, None]
    ig4 = gt_ig[:, :, None, :]
    crowd4 = crowd[:, None, None, :]
    for r in range(d_n):
        k = int(np.count_nonzero(d_of > r))  # cells sorted by D: the first k have rank r
        v = ious[:k, r, None, None, :]
        ok = ~(taken[:k] & ~crowd4[:k]) & (v >= thr4)
        regular = ok & ~ig4[:k]
        has_regular = regular.any(-1, keepdims=True)
        chosen = np.where(has_regular, regular, ok & ig4[:k])
        scored = np.where(chosen, v, -np.inf)
        pos = g_n - 1 - np.argmax(scored[..., ::-1], axis=-1)  # last maximum
        has = chosen.any(-1)
        pos_ig = np.take_along_axis(np.broadcast_to(ig4[:k], chosen.shape), pos[..., None], -1)
        ids = np.take_along_axis(gt_ids[:k, None, None, :], pos[..., None], -1)[..., 0]
        matched[:k, :, :, r] = has & (ids != 0)
        ignored[:k, :, :, r] = has & pos_ig[..., 0]
        mark = has & (dt_ids[:k, r] > 0)[:, None, None]
        cell, a, t = np.nonzero(mark)
        taken[cell, a, t, pos[cell, a, t]] = True
    ignored |= ~matched & _out_of_range(dt_area, area_rngs)[:, :, None, :]
    real_gt = np.arange(g_n)[None, :] < np.array([len(c.gt_ids) for c in cells])[:, None]
    npig = np.count_nonzero(~gt_ig & real_gt[:, None, :], axis=-1)  # (n, A)
    return [
        Matches(matched[i, :, :, : d_of[i]], ignored[i, :, :, : d_of[i]], npig[i]) for i in range(n)
    ]


def match_cells(
    cells: Sequence[Cell], iou_thrs: Sequence[float], area_rngs: Sequence[Sequence[float]]
) -> list[Matches]:
    """:class:`Matches` of each cell, in the order given (COCOeval's evaluateImg rule)."""
    thr = np.array([min(t, 1 - 1e-10) for t in iou_thrs], np.float64)
    rngs = np.asarray(area_rngs, np.float64).reshape(-1, 2)
    out: list[Matches | None] = [None] * len(cells)
    # similar G together keeps the padding small; D descending lets each step slice
    order = sorted(range(len(cells)), key=lambda i: (-len(cells[i].gt_ids), -len(cells[i].dt_ids)))
    start = 0
    while start < len(order):
        g_n = max(1, len(cells[order[start]].gt_ids))
        per_cell = len(rngs) * len(thr) * g_n
        stop = min(len(order), start + max(1, _BLOCK_ELEMENTS // per_cell))
        block = sorted(order[start:stop], key=lambda i: -len(cells[i].dt_ids))
        for i, m in zip(block, _match_block([cells[i] for i in block], thr, rngs), strict=True):
            out[i] = m
        start = stop
    return out  # type: ignore[return-value]


def accumulate(
    cells: Sequence[Cell],
    matches: Sequence[Matches],
    *,
    n_cats: int,
    iou_thrs: Sequence[float],
    rec_thrs: Sequence[float],
    n_areas: int,
    max_dets: Sequence[int],
) -> dict[str, np.ndarray]:
    """COCOeval.accumulate's ``precision`` (T,R,K,A,M), ``recall`` (T,K,A,M), ``scores``."""
    t_n, r_n, m_n = len(iou_thrs), len(rec_thrs), len(max_dets)
    rec = np.asarray(rec_thrs, np.float64)
    precision = -np.ones((t_n, r_n, n_cats, n_areas, m_n))
    recall = -np.ones((t_n, n_cats, n_areas, m_n))
    scores = -np.ones((t_n, r_n, n_cats, n_areas, m_n))
    by_cat: dict[int, list[int]] = {}
    for i in sorted(range(len(cells)), key=lambda i: cells[i].img_index):
        by_cat.setdefault(cells[i].cat_index, []).append(i)
    empty = np.zeros((n_areas, t_n, 0), bool)
    for k, idx in by_cat.items():
        score = np.concatenate([cells[i].dt_score for i in idx]).astype(np.float64)
        rank = np.concatenate([np.arange(len(cells[i].dt_ids)) for i in idx])
        hit = np.concatenate([empty, *(matches[i].dt_matched for i in idx)], axis=-1)
        skip = np.concatenate([empty, *(matches[i].dt_ignore for i in idx)], axis=-1)
        npig = np.sum([matches[i].npig for i in idx], axis=0)
        for m, max_det in enumerate(max_dets):
            sel = rank < max_det
            order = np.argsort(-score[sel], kind="mergesort")
            sorted_scores = score[sel][order]
            nd = len(order)
            for a in range(n_areas):
                if npig[a] == 0:
                    continue
                dm, di = hit[a][:, sel][:, order], skip[a][:, sel][:, order]
                tp = np.cumsum(dm & ~di, axis=1).astype(float)
                fp = np.cumsum(~dm & ~di, axis=1).astype(float)
                rc = tp / npig[a]
                pr = tp / (fp + tp + np.spacing(1))
                recall[:, k, a, m] = rc[:, -1] if nd else 0
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(t_n):
                    inds = np.searchsorted(rc[t], rec, side="left")
                    inside = inds < nd
                    q, ss = np.zeros(r_n), np.zeros(r_n)
                    q[inside], ss[inside] = pr[t, inds[inside]], sorted_scores[inds[inside]]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return {"precision": precision, "recall": recall, "scores": scores}
