"""The fault-injection hooks live in one module, which documents each of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hqseg.utils import faults

ROOT = Path(__file__).resolve().parents[2]


def test_an_unset_hook_is_a_no_op(monkeypatch):
    for hook in faults.HOOKS:
        monkeypatch.delenv(hook, raising=False)
        faults.kill_point(hook, "1")  # still alive


def test_a_set_hook_kills_at_its_point_only():
    code = (
        "from hqseg.utils.faults import KILL_AT, kill_point\n"
        "kill_point(KILL_AT, 'validation')\nprint('passed validation')\n"
        "kill_point(KILL_AT, 'export')\nprint('not reached')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), faults.KILL_AT: "export"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout == "passed validation\n"


def test_an_unknown_hook_is_refused():
    with pytest.raises(ValueError, match="unknown fault hook"):
        faults.kill_point("HQSEG_FAULT_NOPE", "1")


def test_every_hook_is_documented_and_read_nowhere_else():
    for hook in faults.HOOKS:
        assert f"``{hook}=" in faults.__doc__
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "hqseg").rglob("*.py")
        if any(hook in path.read_text(encoding="utf-8") for hook in faults.HOOKS)
    ]
    assert readers == ["hqseg/utils/faults.py"]
