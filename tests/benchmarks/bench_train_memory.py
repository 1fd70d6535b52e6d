"""Benchmark: peak resident memory of `hqseg train` per rank, against model and batch sizes.

Usage::

    python tests/benchmarks/bench_train_memory.py --data DATA_FOLDER [--nproc 2] [--steps 2]
        [--batch-size 2] [--model-type tiny] [--validate]

DATA_FOLDER is a ``hqseg build`` folder (e.g. of the embedded sample: ``hqseg sample``,
``hqseg download all --from``, ``hqseg normalize``, ``hqseg build``). It runs, each in
fresh processes: a bare ``import torch`` (the floor every process pays), one
``hqseg train`` process, and ``torchrun --nproc_per_node=N hqseg train``. Every rank
reports its own peak RSS (``getrusage`` at exit), printed next to the size of the
model's parameters (all, and the trainable HQ ones) and of one batch's tensors.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

MARK = "peak-rss-rank"


def _report_peak() -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{MARK} {os.environ.get('RANK', '0')} {peak_mb:.0f}", file=sys.stderr, flush=True)


def as_rank() -> None:
    """Entry point of each training process: run `hqseg` and print the peak at exit."""
    atexit.register(_report_peak)
    from hqseg.cli import main

    sys.argv = ["hqseg", *sys.argv[2:]]
    main()


def sizes(model_type: str, batch_size: int, data: str) -> tuple[float, float, float]:
    """(all parameters MB, HQ parameters MB, one batch's tensors MB)."""
    from hqseg.training import model_api
    from hqseg.training.config import TrainConfig
    from hqseg.training.data import HQTrainDataset, open_train_records

    model = model_api.build_model(model_type, None)
    mb = 2.0**20
    every = sum(p.numel() * p.element_size() for p in model.parameters()) / mb
    hq = sum(p.numel() * p.element_size() for _, p in model_api.hq_named_parameters(model)) / mb
    cfg = TrainConfig(data=data, model_type=model_type, validate=False)
    item = HQTrainDataset(open_train_records(cfg), config=cfg)[(0, 0)]
    one = sum(t.numel() * t.element_size() for t in item.values()) / mb
    return every, hq, one * batch_size


def run(cmd: list[str], env: dict) -> dict[int, float]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return {
        int(m.group(1)): float(m.group(2))
        for m in re.finditer(rf"^{MARK} (\d+) (\d+)$", proc.stderr, re.M)
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-rank":
        return as_rank()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--model-type", default="test_vit")
    ap.add_argument("--validate", action="store_true", help="include held-out validation")
    args = ap.parse_args()
    env = dict(os.environ, HQSEG_PROGRESS="off", TQDM_DISABLE="1")
    floor = run(
        [sys.executable, "-c", "import torch, resource, sys; print('peak-rss-rank 0', "
         "round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), file=sys.stderr)"],
        env,
    )  # fmt: skip
    every, hq, batch = sizes(args.model_type, args.batch_size, args.data)
    with tempfile.TemporaryDirectory() as tmp:
        train = [
            "train", "--data", args.data, "--model-type", args.model_type,
            "--batch-size", str(args.batch_size), "--max-steps", str(args.steps),
            "--validate" if args.validate else "--no-validate", "--device", "cpu",
            "--val-limit", "2", "--checkpoint-every", "0",
        ]  # fmt: skip
        me = str(Path(__file__).resolve())
        single = run(
            [sys.executable, me, "--as-rank", *train, "--out", f"{tmp}/one"],
            {**env, "OMP_NUM_THREADS": str(max(1, len(os.sched_getaffinity(0))))},
        )
        ddp = run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             f"--nproc_per_node={args.nproc}", me, "--as-rank", *train, "--out", f"{tmp}/ddp"],
            env,
        )  # fmt: skip
    print(f"model {args.model_type}, batch {args.batch_size}/rank, {args.steps} steps, CPU")
    print(f"  parameters: {every:.1f} MB (HQ, trainable: {hq:.1f} MB); one batch: {batch:.1f} MB")
    print(f"  `import torch` alone: {floor[0]:.0f} MB")
    print(f"  1 process:            {single[0]:.0f} MB peak RSS")
    for rank, peak in sorted(ddp.items()):
        print(f"  torchrun rank {rank}:      {peak:.0f} MB peak RSS")


if __name__ == "__main__":
    main()
