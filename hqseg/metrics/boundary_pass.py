"""The boundary pass of boundary AP: boundary IoU of every same-category (dt, gt) pair.

Each annotation's boundary is computed once, on its bounding-box crop (see
:mod:`hqseg.metrics.rle`), and only pairs whose boundaries meet are stored: a missing
pair has boundary IoU 0. Images are independent, so large sets are spread over a
process pool with a progress bar.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from hqseg.metrics.masks import boundary_dilation
from hqseg.metrics.rle import crop_boundary, crop_iou, rle_to_crop
from hqseg.utils.progress import progress_bar

# below this many annotations a pool costs more than it saves
PARALLEL_MIN_ANNOTATIONS = 2000


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


def image_boundary_ious(
    job: ImageJob, dilation_ratio: float = 0.02
) -> dict[tuple[int, int], float]:
    """``{(dt_id, gt_id): boundary IoU}`` for the job's pairs whose boundaries meet."""
    d = boundary_dilation(job.height, job.width, dilation_ratio)
    bands = {key: crop_boundary(rle_to_crop(rle), d) for key, rle in job.rles.items()}
    out = {}
    for dt_id, gt_id in job.pairs:
        iou = crop_iou(bands["dt", dt_id], bands["gt", gt_id])
        if iou > 0.0:
            out[dt_id, gt_id] = iou
    return out


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts in milliseconds; the workers only read numpy/OpenCV/pycocotools state
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
    workers = default_workers() if workers is None else max(1, int(workers))
    if n_anns < PARALLEL_MIN_ANNOTATIONS:
        workers = 1
    disable = n_anns < PARALLEL_MIN_ANNOTATIONS if progress is None else not progress
    bar = progress_bar(total=len(jobs), desc="boundary IoU", unit="img", bar=not disable)
    task = partial(image_boundary_ious, dilation_ratio=dilation_ratio)
    merged: dict[tuple[int, int], float] = {}
    try:
        if workers == 1:
            for job in jobs:
                merged.update(task(job))
                bar.update()
        else:
            chunk = max(1, len(jobs) // (workers * 16))
            with _pool_context().Pool(workers) as pool:
                for part in pool.imap(task, jobs, chunksize=chunk):
                    merged.update(part)
                    bar.update()
    finally:
        bar.close()
    return merged
