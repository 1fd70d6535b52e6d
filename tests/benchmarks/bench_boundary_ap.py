"""Benchmark: boundary AP, hqseg vs the straightforward reference, on one generated set.

Generates a COCO-like set (default 200 images of 480x640, several objects of varied size
per image, crowd regions, polygons and RLEs, 1-3 detections per object plus false
positives), then times in the same run:

  (a) reference: boundary-iou-api's algorithm wired into COCOeval, serial; every GT and
      detection decoded to a full-image mask, zero-padded, eroded 3x3 d times (OpenCV,
      as boundary-iou-api), re-encoded as RLE;
  (b) hqseg: ``evaluate_coco(..., ("boundary",))`` with all cores, and with one core;
  (c) plain pycocotools mask AP, for context.

It checks that the 12 stats are identical and prints the best of ``--repeat`` times
and the ratios.

    python tests/benchmarks/bench_boundary_ap.py [--images 200] [--workers N] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hqseg.metrics import STAT_NAMES, evaluate_coco  # noqa: E402
from hqseg.metrics.boundary_pass import default_workers  # noqa: E402
from tests.metrics.cocogen import make_coco  # noqa: E402
from tests.metrics.reference import (  # noqa: E402
    pycocotools_segm_stats,
    reference_boundary_stats,
)


def _timed(fn, repeat: int = 1):
    """Result and best wall time of ``repeat`` runs (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200, help="images to generate (>= 200)")
    ap.add_argument("--workers", type=int, default=None, help="hqseg processes (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="runs per timing; the best is shown")
    args = ap.parse_args()

    gt, res = make_coco(
        args.images, sizes=((480, 640),), objects_per_image=(3, 10), dets_per_object=1.6,
        false_positives=2.0, seed=args.seed,
    )  # fmt: skip
    n_crowd = sum(a["iscrowd"] for a in gt["annotations"])
    print(
        f"set: {len(gt['images'])} images 480x640, {len(gt['annotations'])} GT "
        f"({n_crowd} crowd), {len(res)} detections, d=16"
    )
    workers = args.workers or default_workers()

    r = args.repeat
    segm, t_segm = _timed(lambda: pycocotools_segm_stats(gt, res), r)
    ref, t_ref = _timed(lambda: reference_boundary_stats(gt, res, fast_erode=True), r)
    ours, t_ours = _timed(lambda: evaluate_coco(gt, res, ("boundary",), workers=workers), r)
    one, t_one = _timed(lambda: evaluate_coco(gt, res, ("boundary",), workers=1), r)
    both, t_both = _timed(lambda: evaluate_coco(gt, res, workers=workers), r)

    ours_v = np.array([ours["boundary"][k] for k in STAT_NAMES])
    same = np.array_equal(ours_v, ref) and np.array_equal(
        [one["boundary"][k] for k in STAT_NAMES], ref
    )
    same_segm = np.array_equal([both["segm"][k] for k in STAT_NAMES], segm)
    print(f"pycocotools mask AP (context)        {t_segm:7.2f} s")
    print(f"reference boundary AP (serial)       {t_ref:7.2f} s")
    print(f"hqseg boundary AP ({workers} workers)       {t_ours:7.2f} s   {t_ref / t_ours:5.1f}x")
    print(f"hqseg boundary AP (1 worker)         {t_one:7.2f} s   {t_ref / t_one:5.1f}x")
    print(f"hqseg mask AP + boundary AP          {t_both:7.2f} s")
    print(f"boundary stats identical: {same}; segm stats identical: {same_segm}")
    print("boundary AP: " + ", ".join(f"{k}={v:.4f}" for k, v in zip(STAT_NAMES, ref, strict=True)))
    if not (same and same_segm):
        sys.exit(1)


if __name__ == "__main__":
    main()
