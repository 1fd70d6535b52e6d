"""Run the CLI as a user does, in a child process under a timeout, and check the outcome.

A regression that hangs (a FIFO read, a huge allocation) then fails the test instead
of blocking the suite, and a crash of the interpreter (rc 139) is seen as such.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args, cwd: Path, *, timeout: float = 120) -> tuple[int, str]:
    """``hqseg ARGS`` in a child process with ``TMPDIR=cwd/tmp``; (rc, stdout + stderr).

    Raises:
        subprocess.TimeoutExpired: the command did not finish within ``timeout`` (it is
            killed first): the fault the test guards against.
    """
    tmp = Path(cwd) / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "hqseg.cli", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def tree(root: Path, *, skip: tuple[Path, ...] = ()) -> set[str]:
    """Relative paths of everything under ``root`` (not following links), minus ``skip``."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not any(path == s or path.is_relative_to(s) for s in skip):
                out.add(path.relative_to(root).as_posix())
    return out


def assert_one_line_error(rc: int, output: str, *words: str) -> None:
    """rc 2, a single ``error: ...`` line (no traceback) holding each of ``words``."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert rc == 2, output
    assert "Traceback" not in output, output
    assert lines and lines[-1].startswith("error: "), output
    for word in words:
        assert word in lines[-1], output


def file_size_limit(limit: int):
    """A ``preexec_fn`` for a child process in which writing a file past ``limit`` bytes
    fails with EFBIG (instead of killing it with SIGXFSZ), as on a small quota."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply
