"""Running tests: two workers by default, one process with `-n0` or `-p no:xdist`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# small and torch-free, in a folder whose conftests import no torch (start-up is the cost)
TARGET = "tests/custom/test_custom_spec.py"  # 23 tests


@pytest.mark.parametrize(
    ("flags", "parallel"),
    [([], True), (["-n0"], False), (["-p", "no:xdist"], False)],
)
def test_serial_and_parallel_runs(flags, parallel):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *flags, TARGET],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "23 passed" in proc.stdout
    assert ("bringing up nodes" in proc.stdout) == parallel, proc.stdout[-2000:]
