"""The boundary pass of boundary AP: boundary IoU of every same-category (dt, gt) pair.

Each annotation's boundary is computed once, for about a thousand annotations at a
time on shared canvases (:func:`hqseg.metrics.band_canvas.pair_boundary_ious`), and
only pairs whose boundaries meet are stored: a missing pair has boundary IoU 0.
Images are independent, so very large sets are spread over a process pool (it saves
wall time at a cost in CPU time; see ``PARALLEL_MIN_ANNOTATIONS``), with a progress bar.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from hqseg.metrics.band_canvas import pair_boundary_ious
from hqseg.metrics.masks import boundary_dilation
from hqseg.utils.procs import WorkerInit, pool_context, usable_cores
from hqseg.utils.progress import progress_bar

# Below this many annotations in the pass (images x detections that meet a GT) the
# pool costs more than it saves. Measured on 2 cores (300 images x 45 detections,
# 12,217 annotations): the serial pass costs ~46 us CPU per annotation (0.56 s), the
# pool adds ~0.45 s CPU (fork server start, imports, pickling) and saves at most half
# the pass's wall time; from ~40,000 annotations (~1.8 s serial) it saves ~1 s wall.
PARALLEL_MIN_ANNOTATIONS = 40_000
# annotations decoded together (amortises numpy call overhead), and the most image
# pixels they may cover together (a mask's canvas is at most its image: 256 MiB)
CHUNK_ANNOTATIONS = 1024
CHUNK_PIXELS = 1 << 28


@dataclass(frozen=True)
class ImageJob:
    """One image's work: RLEs (H x W) by annotation id and the (dt_id, gt_id) pairs to score.

    Only pairs whose masks overlap need a boundary IoU (boundaries lie inside masks, so
    for the others it is 0), and each annotation's boundary is computed once.
    """

    height: int
    width: int
    rles: dict[tuple[str, int], dict]  # ("gt" | "dt", ann_id) -> RLE
    pairs: Sequence[tuple[int, int]]  # (dt_id, gt_id)


def chunk_boundary_ious(
    jobs: Sequence[ImageJob], dilation_ratio: float = 0.02
) -> dict[tuple[int, int], float]:
    """``{(dt_id, gt_id): boundary IoU}`` for the jobs' pairs whose boundaries meet."""
    rles, widths, dts, gts, keys = [], [], [], [], []
    for job in jobs:
        d = boundary_dilation(job.height, job.width, dilation_ratio)
        where = {}
        for key, rle in job.rles.items():
            where[key] = len(rles)
            rles.append(rle)
            widths.append(d)
        for dt_id, gt_id in job.pairs:
            dts.append(where["dt", dt_id])
            gts.append(where["gt", gt_id])
            keys.append((dt_id, gt_id))
    ious = pair_boundary_ious(rles, widths, dts, gts)
    return {keys[k]: float(ious[k]) for k in np.flatnonzero(ious > 0.0).tolist()}


def image_boundary_ious(
    job: ImageJob, dilation_ratio: float = 0.02
) -> dict[tuple[int, int], float]:
    """``{(dt_id, gt_id): boundary IoU}`` for one job's pairs whose boundaries meet."""
    return chunk_boundary_ious([job], dilation_ratio)


def _chunks(jobs: list[ImageJob], size: int) -> list[list[ImageJob]]:
    """Consecutive jobs grouped to about ``size`` annotations per group, and to at most
    ``CHUNK_PIXELS`` image pixels per group (the bound of its canvases' memory)."""
    out: list[list[ImageJob]] = []
    count = pixels = size * CHUNK_PIXELS
    for job in jobs:
        job_pixels = len(job.rles) * job.height * job.width
        if count + len(job.rles) > size or pixels + job_pixels > CHUNK_PIXELS:
            out.append([])
            count = pixels = 0
        out[-1].append(job)
        count += len(job.rles)
        pixels += job_pixels
    return out


def boundary_ious(
    jobs: Iterable[ImageJob],
    *,
    dilation_ratio: float = 0.02,
    workers: int | None = None,
    progress: bool | None = None,
) -> dict[tuple[int, int], float]:
    """Boundary IoUs of all jobs, merged; serial for small inputs or ``workers=1``.

    Args:
        jobs: one per image.
        dilation_ratio: boundary width as a fraction of the image diagonal.
        workers: processes to use (None: all available cores).
        progress: a bar on a terminal, log lines elsewhere (None: bar only for large inputs).
    """
    jobs = list(jobs)
    n_anns = sum(len(j.rles) for j in jobs)
    workers = usable_cores() if workers is None else max(1, int(workers))
    if n_anns < PARALLEL_MIN_ANNOTATIONS:
        workers = 1
    disable = n_anns < PARALLEL_MIN_ANNOTATIONS if progress is None else not progress
    bar = progress_bar(total=len(jobs), desc="boundary IoU", unit="img", bar=not disable)
    task = partial(chunk_boundary_ious, dilation_ratio=dilation_ratio)
    chunks = _chunks(jobs, CHUNK_ANNOTATIONS)
    merged: dict[tuple[int, int], float] = {}
    with contextlib.ExitStack() as stack:
        stack.callback(bar.close)
        if workers == 1:
            parts = map(task, chunks)
        else:
            ctx = pool_context([__name__, "pycocotools.mask"])
            size = min(workers, len(chunks))
            pool = stack.enter_context(ctx.Pool(size, initializer=WorkerInit()))
            parts = pool.imap(task, chunks)
        for chunk, part in zip(chunks, parts, strict=True):
            merged.update(part)
            bar.update(len(chunk))
    return merged
