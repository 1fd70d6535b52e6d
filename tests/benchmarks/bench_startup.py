"""Benchmark: start-up of the CLI commands that do no model work, vs a bare interpreter.

For each command, runs it ``--repeat`` times in a fresh process and prints the best
wall time, its ratio to ``python -c pass`` (the interpreter's own start), the
children's peak RSS, and whether torch was imported (it must not be). The import
time of ``hqseg.cli`` itself comes from ``python -X importtime``.

    python tests/benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (
    ("--help",),
    ("sources",),
    ("eval", "results", "--help"),
    ("build", "--help"),
    ("train", "--help"),
    ("eval", "hq", "--help"),
)

_PROBE = "import sys; from hqseg.cli import main; sys.argv[0] = 'hqseg'; main()"
_TORCH = (
    "import sys; sys.argv = ['hqseg', *sys.argv[1:]]\n"
    "try:\n    from hqseg.cli import main; main()\nexcept SystemExit:\n    pass\n"
    "print('TORCH', 'torch' in sys.modules)"
)


def _hqseg() -> list[str]:
    script = Path(sys.executable).parent / "hqseg"
    found = str(script) if script.exists() else shutil.which("hqseg")
    return [found] if found else [sys.executable, "-c", _PROBE]


def _best(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def _peak_mb(cmd: list[str]) -> float:
    """Peak RSS of one run of ``cmd`` (a fresh child, measured from a fresh parent)."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def _imports_torch(args: tuple[str, ...]) -> bool:
    out = subprocess.run(
        [sys.executable, "-c", _TORCH, *args], capture_output=True, text=True, check=True
    ).stdout
    return "TORCH True" in out


def _import_ms() -> float:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import hqseg.cli"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    line = next(x for x in reversed(err.splitlines()) if x.rstrip().endswith("hqseg.cli"))
    return int(line.split("|")[1]) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (the best is kept)")
    args = ap.parse_args()
    bare = _best([sys.executable, "-c", "pass"], args.repeat)
    hqseg = _hqseg()
    print(f"python -c pass: {bare:.3f} s; hqseg = {' '.join(hqseg)}")
    print(f"import hqseg.cli (python -X importtime, cumulative): {_import_ms():.0f} ms")
    print(f"\n{'command':<28} {'wall s':>7} {'x python':>9} {'peak MB':>8} {'torch':>6}")
    for cmd in COMMANDS:
        wall = _best([*hqseg, *cmd], args.repeat)
        peak = _peak_mb([*hqseg, *cmd])
        torch = "yes" if _imports_torch(cmd) else "no"
        name = "hqseg " + " ".join(cmd)
        print(f"{name:<28} {wall:>7.3f} {wall / bare:>9.1f} {peak:>8.0f} {torch:>6}")


if __name__ == "__main__":
    main()
