"""Benchmark: boundary AP as users run it, CPU seconds of the whole process and its children.

Two generated COCO-like sets, 480x640 images, 10 categories (polygons and RLEs, crowd
regions, detections shifted/grown/shrunk/hollowed copies of the GT plus false
positives), written as JSON files:

  sparse   1,000 images, about 5.7 detections per image;
  dense    300 images, about 50 detections per image (COCO-like density).

Each contender runs as the command a user would type, in a fresh process; its CPU is
``getrusage(RUSAGE_CHILDREN)`` around it (what ``/usr/bin/time`` reports: the process
and every child it reaped, pool workers included):

  official   boundary-iou-api's ``tools/coco_instance_evaluation.py`` steps (COCO with
             ``get_boundary=True``, ``loadRes``, COCOeval ``iouType="boundary"``) when
             importable (not on PyPI: ``PYTHONPATH=<clone>``); its boundary pass runs
             on all cores;
  fce        faster-coco-eval's ``COCOeval_faster(iouType="boundary")``, when installed;
  hqseg-1    ``hqseg eval results --iou-type boundary --workers 1``;
  hqseg      ``hqseg eval results --iou-type boundary`` (default workers);
  hqseg-both ``hqseg eval results`` (mask AP and boundary AP, the default).

Beside them, ``in-process`` is ``evaluate_coco(gt_file, results_file, ("boundary",),
workers=1)`` timed inside a warm process (no start-up or imports), with the share of
input checking (types, sizes, RLE counts) in it. The boundary stats must equal the
official API's bit for bit (exit 1 otherwise); faster-coco-eval's largest difference
is printed. Times are CPU seconds over ``--repeats`` runs (min-max; the machine may be
shared), wall seconds for context.

    PYTHONPATH=<boundary-iou-api clone> python tests/benchmarks/bench_boundary_ap.py
"""

from __future__ import annotations

import argparse
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

#: (images, objects per image, detections per object, false positives per image)
SETS = {"sparse": (1000, (2, 7), 1.35, 1.0), "dense": (300, (10, 31), 2.6, 4.0)}

OFFICIAL = """
import contextlib, io, json, sys
import numpy as np
np.float = float  # its accumulate() uses np.float, gone since numpy 1.24
from boundary_iou.coco_instance_api.coco import COCO
from boundary_iou.coco_instance_api.cocoeval import COCOeval
gt = COCO(sys.argv[1], get_boundary=True, dilation_ratio=0.02)
dt = gt.loadRes(sys.argv[2])
ev = COCOeval(gt, dt, iouType="boundary", dilation_ratio=0.02)
ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps([float(v) for v in ev.stats]))
"""

FCE = """
import json, sys
from faster_coco_eval import COCO, COCOeval_faster
gt = COCO(sys.argv[1])
ev = COCOeval_faster(gt, gt.loadRes(sys.argv[2]), iouType="boundary")
ev.evaluate(); ev.accumulate(); ev.summarize()
print(json.dumps([float(v) for v in ev.stats]))
"""


def _importable(module: str) -> bool:
    cmd = [sys.executable, "-c", f"import {module}"]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(cmd: list[str], stats_file: Path | None) -> dict:
    """Run ``cmd``; its CPU (with reaped children), wall time and boundary stats."""
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
    ))  # fmt: skip
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    cpu, wall = _children_cpu() - cpu0, time.perf_counter() - wall0
    if stats_file is None:
        stats = json.loads(out.stdout.strip().splitlines()[-1])
    else:  # hqseg writes percent; the official API gives fractions
        pct = json.loads(stats_file.read_text())["boundary"].values()
        stats = [v / 100 if v >= 0 else -1.0 for v in pct]
    return {"cpu": cpu, "wall": wall, "stats": stats}


def _commands(data: Path) -> dict[str, tuple[list[str], Path | None]]:
    gt, res, out = str(data / "gt.json"), str(data / "results.json"), data / "stats.json"
    hq = [sys.executable, "-m", "hqseg.cli", "eval", "results", "--gt", gt, "--results", res]
    hq += ["--out", str(out)]  # removed before each run
    cmds: dict[str, tuple[list[str], Path | None]] = {}
    if _importable("boundary_iou.coco_instance_api.cocoeval"):
        cmds["official"] = ([sys.executable, "-c", OFFICIAL, gt, res], None)
    if _importable("faster_coco_eval"):
        cmds["fce"] = ([sys.executable, "-c", FCE, gt, res], None)
    cmds["hqseg-1"] = ([*hq, "--iou-type", "boundary", "--workers", "1"], out)
    cmds["hqseg"] = ([*hq, "--iou-type", "boundary"], out)
    cmds["hqseg-both"] = (hq, out)
    return cmds


def _in_process(data: Path) -> None:
    """evaluate_coco from the files in a warm process; print CPU and the input-check share."""
    from hqseg.metrics import coco_eval, coco_io

    spent = {"check": 0.0}

    def timed(fn):
        def run(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["check"] += time.process_time() - t0

        return run

    coco_io._check_gt = timed(coco_io._check_gt)
    coco_io._check_results = timed(coco_io._check_results)
    files = (data / "gt.json", data / "results.json")
    coco_eval.evaluate_coco(*files, ("boundary",), workers=1)  # warm caches and imports
    spent["check"] = 0.0
    t0 = time.process_time()
    coco_eval.evaluate_coco(*files, ("boundary",), workers=1)
    print(json.dumps({"cpu": time.process_time() - t0, "check": spent["check"]}))


def _span(values: list[float], fmt: str = "{:.2f}") -> str:
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def _bench(name: str, repeats: int, seed: int) -> bool:
    from tests.metrics.cocogen import make_coco

    n, objects, dets, fps = SETS[name]
    gt, res = make_coco(
        n, sizes=((480, 640),), n_categories=10, objects_per_image=objects,
        dets_per_object=dets, false_positives=fps, seed=seed,
    )  # fmt: skip
    print(
        f"\n{name}: {n} images 480x640, {len(gt['annotations'])} GT, {len(res)} detections "
        f"({len(res) / n:.1f} per image)"
    )
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_bap_") as tmp:
        data = Path(tmp)
        (data / "gt.json").write_text(json.dumps(gt))
        (data / "results.json").write_text(json.dumps(res))
        cmds = _commands(data)
        for _ in range(repeats):
            for label, (cmd, out) in cmds.items():
                if out is not None and out.exists():
                    out.unlink()
                runs.setdefault(label, []).append(_run(cmd, out))
        phase = [sys.executable, __file__, "--phase", "in-process", "--data", str(data)]
        inproc = [json.loads(subprocess.run(phase, check=True, capture_output=True,
                                            text=True).stdout.strip().splitlines()[-1])
                  for _ in range(repeats)]  # fmt: skip
    base = runs.get("official")
    print(f"{'contender':<12} {'CPU s':>12} {'wall s':>12} {'CPU / official':>15} {'/ fce':>12}")
    for label, rs in runs.items():
        cpu = [r["cpu"] for r in rs]
        vs = [f"{_span([c / b['cpu'] for c, b in zip(cpu, runs[k], strict=True)], '{:.3f}')}"
              if k in runs else "-" for k in ("official", "fce")]  # fmt: skip
        print(f"{label:<12} {_span(cpu):>12} {_span([r['wall'] for r in rs]):>12} "
              f"{vs[0]:>15} {vs[1]:>12}")  # fmt: skip
    whole = [r["cpu"] for r in runs["hqseg-1"]]
    print(f"in-process   {_span([r['cpu'] for r in inproc]):>12} (evaluate_coco from the files, "
          f"warm); input checking {_span([r['check'] for r in inproc], '{:.3f}')} s = "
          f"{_span([r['check'] / w for r, w in zip(inproc, whole, strict=True)], '{:.1%}')}"
          " of the hqseg-1 process")  # fmt: skip
    ref = (base or runs["hqseg-1"])[0]["stats"]
    same = all(np.array_equal(r["stats"], ref) for k, rs in runs.items() if k != "fce" for r in rs)
    print(f"boundary stats identical ({', '.join(k for k in runs if k != 'fce')}): {same}")
    if "fce" in runs:
        diff = max(np.abs(np.subtract(r["stats"], ref)).max() for r in runs["fce"])
        print(f"faster-coco-eval largest difference: {diff:.3g}")
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="sparse,dense", help="comma-separated: sparse, dense")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phase", choices=["in-process"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        _in_process(Path(args.data))
        return
    ok = [_bench(name, args.repeats, args.seed) for name in args.sets.split(",")]
    if not all(ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
