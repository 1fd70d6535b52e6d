"""Benchmark: boundary AP, hqseg vs boundary-iou-api's algorithm, CPU seconds of all processes.

Generates a COCO-like set (default 500 images of 480x640, 10 categories, about 7 GT
and 20 detections per image: polygons and RLEs, crowd regions, objects from a few
pixels to half the image, detections shifted/grown/shrunk/hollowed copies of the GT
plus false positives), writes it as JSON, then runs each contender in a fresh
subprocess (so peak memory is its own) from the same dicts:

  reference   boundary-iou-api's algorithm, re-implemented faithfully: every GT and
              detection decoded to a full-image mask (``COCO.annToMask``), padded by
              one zero pixel (``cv2.copyMakeBorder``), eroded 3x3 d times
              (``cv2.erode(iterations=d)``), cropped, subtracted, re-encoded as RLE
              and attached to the annotation; COCOeval with ``maskUtils.iou`` on masks
              and on boundaries, min of the two for non-crowd GT (one process);
  official    boundary-iou-api itself (``boundary_iou.coco_instance_api``), when it is
              importable (not on PyPI: ``pip install -e`` a clone, or put it on
              PYTHONPATH); its boundary pass runs in a pool of all cores;
  hqseg       ``evaluate_coco(gt, results, ("boundary",))`` with one worker, and with
              the default (all cores; a pool only for large inputs).

Time is CPU seconds (user + system) of the process and all its children, which is
robust on a shared machine; wall seconds are printed for context. Peak memory is the
peak RSS of the main process plus that of its largest child times the worker count.
The 12 stats must be identical (exit 1 otherwise).

    python tests/benchmarks/bench_boundary_ap.py [--images 500] [--categories 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fork_server_cpu import proc_cpu, start_fork_server, stop_fork_server  # noqa: E402

CONTENDERS = ("reference", "official", "hqseg-1", "hqseg")
#: What boundary AP's pool asks its fork server to import (hqseg/metrics/boundary_pass.py).
POOL_PRELOAD = ("hqseg.metrics.boundary_pass", "pycocotools.mask")


def api_boundary(mask: np.ndarray, dilation_ratio: float = 0.02) -> np.ndarray:
    """boundary-iou-api's ``mask_to_boundary``, step for step (FACTS §4)."""
    import cv2

    h, w = mask.shape
    d = max(1, int(round(dilation_ratio * np.sqrt(h**2 + w**2))))
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1 : h + 1, 1 : w + 1]
    return mask - eroded


def _reference(gt: dict, res: list) -> list[float]:
    from tests.metrics.reference import ReferenceBoundaryEval, _load, _run

    coco_gt, coco_dt = _load(gt, res)
    return _run(ReferenceBoundaryEval(coco_gt, coco_dt, api_boundary)).tolist()


def _official(gt: dict, res: list) -> list[float]:
    from boundary_iou.coco_instance_api.coco import COCO
    from boundary_iou.coco_instance_api.cocoeval import COCOeval

    if not hasattr(np, "float"):  # its accumulate() uses np.float, gone since numpy 1.24
        np.float = float
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(get_boundary=True)
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(res)
        ev = COCOeval(coco_gt, coco_dt, iouType="boundary")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def _hqseg(gt: dict, res: list, workers: int | None) -> list[float]:
    from hqseg.metrics import STAT_NAMES, evaluate_coco

    stats = evaluate_coco(gt, res, ("boundary",), workers=workers)["boundary"]
    return [stats[k] for k in STAT_NAMES]


def _cpu() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _child(name: str, data: Path) -> None:
    """Run one contender on the set in ``data``; print a JSON line of its measurements."""
    import cv2  # noqa: F401 (imports are not the work being measured)
    import pycocotools.coco  # noqa: F401

    if name == "official":
        try:
            import boundary_iou.coco_instance_api.cocoeval  # noqa: F401
        except ImportError:
            print(json.dumps({"missing": True}))
            return
    else:
        import hqseg.metrics  # noqa: F401
        import tests.metrics.reference  # noqa: F401
    gt = json.loads((data / "gt.json").read_text())
    res = json.loads((data / "results.json").read_text())
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    run = {
        "reference": lambda: _reference(gt, res),
        "official": lambda: _official(gt, res),
        "hqseg-1": lambda: _hqseg(gt, res, 1),
        "hqseg": lambda: _hqseg(gt, res, None),
    }[name]
    # the pooled run's workers are a fork server's children: count them through it
    server = start_fork_server(POOL_PRELOAD) if name == "hqseg" else None
    server0 = proc_cpu(server) if server else 0.0
    cpu0, wall0 = _cpu(), time.perf_counter()
    stats = run()
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    if server:
        cpu += proc_cpu(server) - server0
        stop_fork_server()  # reaped here, so its workers' peak RSS reaches getrusage
    kib = 1024  # ru_maxrss is KiB on Linux
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 2**20
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 2**20
    peak = main_mb + (workers * child_mb if child_mb else 0.0)
    print(json.dumps({"cpu": cpu, "wall": wall, "peak_mb": peak, "stats": stats}))


def _spawn(name: str, data: Path) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, "--data", str(data)]
    env = dict(os.environ, TQDM_DISABLE="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=500, help="images to generate")
    ap.add_argument("--categories", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", default="", help="comma-separated contenders not to run")
    ap.add_argument("--phase", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        _child(args.phase, Path(args.data))
        return

    from tests.metrics.cocogen import make_coco

    gt, res = make_coco(
        args.images, sizes=((480, 640),), n_categories=args.categories,
        objects_per_image=(4, 11), dets_per_object=2.4, false_positives=3.2, seed=args.seed,
    )  # fmt: skip
    n_crowd = sum(a["iscrowd"] for a in gt["annotations"])
    print(
        f"set: {len(gt['images'])} images 480x640 (d=16), {args.categories} categories, "
        f"{len(gt['annotations'])} GT ({n_crowd} crowd), {len(res)} detections "
        f"({len(res) / len(gt['images']):.1f} per image)"
    )
    skip = set(filter(None, args.skip.split(",")))
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench_bap_") as tmp:
        data = Path(tmp)
        (data / "gt.json").write_text(json.dumps(gt))
        (data / "results.json").write_text(json.dumps(res))
        for name in CONTENDERS:
            if name not in skip:
                runs[name] = _spawn(name, data)
    if runs.get("official", {}).get("missing"):
        print("official boundary-iou-api: not installed (skipped)")
        del runs["official"]
    base = runs.get("reference") or runs.get("official")
    print(f"\n{'contender':<12} {'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'CPU ratio':>10}")
    for name, r in runs.items():
        ratio = f"{base['cpu'] / r['cpu']:.1f}x" if base else "-"
        print(f"{name:<12} {r['cpu']:>8.2f} {r['wall']:>8.2f} {r['peak_mb']:>8.0f} {ratio:>10}")
    for name in ("hqseg-1", "hqseg"):
        for base_name in ("reference", "official"):
            if name in runs and base_name in runs:
                share = runs[name]["cpu"] / runs[base_name]["cpu"]
                print(f"{name} CPU time / {base_name}: {share:.3f}")
    stats = {name: r["stats"] for name, r in runs.items()}
    first = next(iter(stats.values()))
    same = all(np.array_equal(first, s) for s in stats.values())
    print(f"boundary stats identical across {', '.join(stats)}: {same}")
    print("boundary AP: " + ", ".join(f"{v:.4f}" for v in first))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
