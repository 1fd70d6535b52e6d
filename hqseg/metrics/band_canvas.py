"""Boundary IoUs of many mask pairs at once: bands of many masks eroded on shared canvases.

Each mask is cut to its bounding box, padded by one zero pixel and stored transposed
(image columns as canvas rows), as in :func:`hqseg.metrics.rle_batch.boundary_bands`.
Crops of the same band width d and of similar height are stacked into one 2-D canvas,
so one fill and one ``cv2.erode`` serve hundreds of masks instead of one call each.

Neighbours on a canvas never change a band: a pixel survives erosion only if its whole
(2d+1)-square window is foreground, and a window that leaves its crop crosses the crop's
own zero ring. The bands therefore equal those of the one-at-a-time rule (FACTS §4),
and each pair's IoU is counted on the overlap of the two boxes, bit for bit as
:func:`hqseg.metrics.rle.crop_iou`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from hqseg.metrics.rle_batch import Segments, column_segments

# crops share a canvas when their padded heights are within this factor (bounds waste)
_WIDTH_STEP = 1.25
# largest canvas (pixels); a crop larger than this gets a canvas of its own
_CANVAS_PIXELS = 1 << 22


def _canvas_groups(sg: Segments, d: np.ndarray, pc: np.ndarray, pr: np.ndarray) -> list:
    """Non-empty masks grouped into canvases: a list of index arrays, each ascending."""
    idx = np.flatnonzero(sg.has)
    if idx.size == 0:
        return []
    cls = np.zeros(pr.size, np.int64)
    cls[idx] = np.ceil(np.log(pr[idx]) / np.log(_WIDTH_STEP))
    order = idx[np.lexsort((idx, cls[idx], d[idx]))]
    key = np.stack([d[order], cls[order]], 1)
    cuts = np.flatnonzero((key[1:] != key[:-1]).any(1)) + 1
    groups = []
    for members in np.split(order, cuts):
        pixels = np.cumsum(pc[members]) * pr[members].max()
        while members.size:
            take = max(1, int(np.searchsorted(pixels, _CANVAS_PIXELS, side="right")))
            groups.append(members[:take])
            members, pixels = members[take:], pixels[take:] - pixels[take - 1]
    return groups


def _fill(offsets: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """A flat uint8 buffer of ``total`` zeros with ones on [offset, offset + length) (sorted)."""
    ends = offsets + lengths
    runs = np.empty(2 * offsets.size + 1, np.int64)
    runs[0:-1:2] = offsets - np.r_[0, ends[:-1]]
    runs[1::2] = lengths
    runs[-1] = total - (ends[-1] if ends.size else 0)
    pattern = np.zeros(runs.size, np.uint8)
    pattern[1::2] = 1
    return np.repeat(pattern, runs)


def _column_runs(sg: Segments) -> tuple[np.ndarray, ...]:
    """``(who, col, row_s, row_e)`` of maximal runs: segments that touch are joined
    (a zero-length run of zeros in an uncompressed RLE splits a run in two)."""
    w, col, rs, re = sg.who, sg.col, sg.row_s, sg.row_e
    join = (w[1:] == w[:-1]) & (col[1:] == col[:-1]) & (rs[1:] == re[:-1])
    if not join.any():
        return w, col, rs, re
    first = np.flatnonzero(np.r_[True, ~join])
    last = np.r_[first[1:], w.size] - 1
    return w[first], col[first], rs[first], re[last]


def pair_boundary_ious(
    rles: Sequence[dict], d: Sequence[int] | int, a: Sequence[int], b: Sequence[int]
) -> np.ndarray:
    """Boundary IoU of masks ``rles[a[k]]`` and ``rles[b[k]]`` for every k (float64).

    The (2d+1)-square erosion is separable: along image columns it shrinks each run by
    d at both ends (no pixels touched), across columns it is one ``cv2.erode`` with a
    (2d+1) x 1 kernel per canvas, run on one thread (fewer CPU seconds than two).

    Args:
        rles: pycocotools RLE dicts (valid, compressed or not); a pair shares an image size.
        d: band width per RLE, or one for all.
        a, b: equal-length index sequences into ``rles``.

    Returns:
        (len(a),) float64: |A ∩ B| / |A ∪ B| of the two bands, 0.0 where they do not meet.
    """
    n = len(rles)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    out = np.zeros(a.size, np.float64)
    if n == 0 or a.size == 0:
        return out
    d = np.broadcast_to(np.asarray(d, np.int64), (n,))
    sg = column_segments(rles)
    who, col, rs, re = _column_runs(sg)
    pc, pr = sg.c1 - sg.c0 + 2, sg.r1 - sg.r0 + 2
    canvas_of = np.full(n, -1, np.int64)
    row_base = np.zeros(n, np.int64)
    area = np.zeros(n, np.int64)
    groups = _canvas_groups(sg, d, pc, pr)
    for c, members in enumerate(groups):
        canvas_of[members] = c
        row_base[members] = np.cumsum(pc[members]) - pc[members]
    # runs by canvas; within one, by mask index and so by position on the canvas
    run_order = np.argsort(canvas_of[who], kind="stable")
    edges = np.searchsorted(canvas_of[who][run_order], np.arange(len(groups) + 1))
    bands = []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for c, members in enumerate(groups):
            k = run_order[edges[c] : edges[c + 1]]
            w, width, dc = who[k], int(pr[members].max()), int(d[members[0]])
            rows = int(pc[members].sum())
            offsets = (row_base[w] + col[k] - sg.c0[w] + 1) * width + (rs[k] - sg.r0[w] + 1)
            length = re[k] - rs[k]
            band = _fill(offsets, length, rows * width).reshape(rows, width)
            tall = np.flatnonzero(length > 2 * dc)  # what survives the erosion along columns
            inner = _fill(offsets[tall] + dc, length[tall] - 2 * dc, rows * width)
            kernel = np.ones((2 * dc + 1, 1), np.uint8)
            np.subtract(band, cv2.erode(inner.reshape(rows, width), kernel), out=band)
            sums = cv2.reduce(band, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
            area[members] = np.add.reduceat(sums.astype(np.int64), row_base[members])
            bands.append(band)
    finally:
        cv2.setNumThreads(threads)
    return _pair_counts(sg, canvas_of, row_base, area, bands, a, b, out)


def _pair_counts(sg, canvas_of, row_base, area, bands, a, b, out) -> np.ndarray:
    """Fill ``out`` with the band IoU of each pair (a[k], b[k]) from the eroded canvases."""
    y0, y1 = np.maximum(sg.r0[a], sg.r0[b]), np.minimum(sg.r1[a], sg.r1[b])
    x0, x1 = np.maximum(sg.c0[a], sg.c0[b]), np.minimum(sg.c1[a], sg.c1[b])
    meet = np.flatnonzero(sg.has[a] & sg.has[b] & (y1 > y0) & (x1 > x0))
    if meet.size == 0:
        return out
    pa, pb = a[meet], b[meet]
    # the overlap box on each canvas: canvas rows are image columns, +1 for the ring
    ra = row_base[pa] + 1 + x0[meet] - sg.c0[pa]
    rb = row_base[pb] + 1 + x0[meet] - sg.c0[pb]
    ca, cb = 1 + y0[meet] - sg.r0[pa], 1 + y0[meet] - sg.r0[pb]
    nr, nc = x1[meet] - x0[meet], y1[meet] - y0[meet]
    inter = np.zeros(meet.size, np.int64)
    rows = zip(
        canvas_of[pa].tolist(), ra.tolist(), ca.tolist(),
        canvas_of[pb].tolist(), rb.tolist(), cb.tolist(), nr.tolist(), nc.tolist(),
        strict=True,
    )  # fmt: skip
    for k, (ga, ya, xa, gb, yb, xb, h, w) in enumerate(rows):
        inter[k] = np.count_nonzero(
            bands[ga][ya : ya + h, xa : xa + w] & bands[gb][yb : yb + h, xb : xb + w]
        )
    union = area[pa] + area[pb] - inter
    hit = inter > 0
    out[meet[hit]] = inter[hit] / union[hit]
    return out
