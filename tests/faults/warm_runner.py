"""Run ``hqseg`` commands as forks of one warm process (tests only).

A fault-injection test runs the same command dozens of times; as separate
``python -m hqseg.cli`` processes most of the time goes into importing torch,
datasets and the rest. Here one server process imports them once (and computes
nothing, so no thread pool exists yet) and forks a child per command: the child
is a fresh process as far as the command can tell (its own pid, rename counter,
environment, working folder, exit status, and a SIGKILL kills only it), started
in milliseconds.

Protocol: one JSON request per line on the server's stdin
(``{"args", "cwd", "env", "log"}``), one ``{"code": N, "renames": R}`` line back
when the child has ended (``N`` < 0: killed by signal ``-N``; ``R``: the renames it
made through :mod:`hqseg.utils.atomic`, when it exited). The child's stdout and stderr
go to the file ``log``; the call site of each of its renames (the hqseg frames of the
stack, see :func:`_rename_site`) to ``log.sites``, one a line, when it exited.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from hqseg.utils import atomic

PRELOAD = (
    "hqseg.cli",
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "datasets",
    "PIL.Image",
    "cv2",
    "matplotlib.pyplot",
    "hqseg.data.build",
    "hqseg.data.download",
    "hqseg.evaluation.hq_run",
    "hqseg.evaluation.custom_benchmark",
    "hqseg.training.loop",
    "hqseg.sample.coco",
    "segment_anything",  # with torchvision, sympy and torch._dynamo: ~3 s a run otherwise
    "hqseg.modeling.registry",
    "hqseg.modeling.predictor",
)
"""Imported by the server before it forks (what the tested commands import)."""


@dataclass(frozen=True)
class Result:
    code: int  # exit status; -9 = killed by SIGKILL
    output: str  # the command's stdout and stderr
    renames: int | None  # atomic renames the command made (None when killed)
    sites: list[str] | None = None  # the call site of each rename, in order (None: killed)


class WarmRunner:
    """Client of one server process; ``run`` one command at a time, ``close`` at the end."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            text=True,
        )

    def run(self, args, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
        """Run ``hqseg ARGS`` in ``cwd`` with ``env`` added to the server's environment."""
        self.count += 1
        log = self.log_dir / f"{self.count:04d}.log"
        request = {"args": [str(a) for a in args], "cwd": str(cwd), "env": env or {}}
        self.proc.stdin.write(json.dumps({**request, "log": str(log)}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise TimeoutError(f"hqseg {' '.join(request['args'])}: no answer in {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"warm runner died (exit {self.proc.wait()})")
        output = log.read_text(errors="replace")
        log.unlink()
        counted = Path(f"{log}.renames")
        renames = int(counted.read_text()) if counted.is_file() else None
        counted.unlink(missing_ok=True)
        traced = Path(f"{log}.sites")
        sites = traced.read_text().splitlines() if traced.is_file() else None
        traced.unlink(missing_ok=True)
        return Result(json.loads(line)["code"], output, renames, sites)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _rename_site() -> str:
    """Where a rename is made: the hqseg frames of the stack (outermost first), without
    the atomic module itself, e.g. ``training/loop.py:290 training/checkpoint.py:123``.
    Renames made by the same lines in the same calling context (one file after another
    in a loop) have the same site."""
    root = Path(atomic.__file__).parents[1]
    frames = []
    for frame in traceback.extract_stack()[:-2]:  # less this function and the wrapper
        path = Path(frame.filename)
        if path.is_relative_to(root) and path != Path(atomic.__file__):
            frames.append(f"{path.relative_to(root).as_posix()}:{frame.lineno}")
    return " ".join(frames)


def _child(request: dict) -> None:
    """Body of a forked child: run the command, then leave with its exit status."""
    code = 1
    sites: list[str] = []
    replace = atomic._replace

    def traced(src, dst):  # the seam itself stays in hqseg.utils.atomic._replace
        sites.append(_rename_site())
        replace(src, dst)

    atomic._replace = traced
    try:
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        from hqseg.cli import main

        main.main(args=request["args"], prog_name="hqseg")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:  # noqa: BLE001 - reported in the log, as a process would
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        Path(f"{request['log']}.sites").write_text("".join(f"{s}\n" for s in sites))
        Path(f"{request['log']}.renames").write_text(str(atomic._renames))
        os._exit(code)


def serve() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    answers = os.fdopen(os.dup(1), "w")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        answers.write(json.dumps({"code": code}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
