"""The GPU benchmark is one command that, without CUDA, says why it skips and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_gpu.py"


def test_without_cuda_the_gpu_benchmark_prints_one_line_and_exits_0():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=os.getcwd())
    proc = subprocess.run(
        [sys.executable, str(BENCH)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench_gpu: skipped: CUDA is not available")
