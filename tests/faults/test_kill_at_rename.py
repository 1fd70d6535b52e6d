"""Kill -9 at each atomic rename of download, build and eval, rerun, compare with a clean run.

The seam: ``HQSEG_FAULT_KILL_AT_RENAME=N`` makes the process SIGKILL itself just
before its N-th rename through :mod:`hqseg.utils.atomic` (``N+``: just after). For
every N until the command completes without reaching N, the killed run is followed
by a normal rerun, whose output must be byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import ecssd_raw  # noqa: E402

MAX_RENAMES = 60
pytestmark = pytest.mark.slow  # one subprocess pair per rename: minutes on a loaded machine


def _hqseg(args, cwd, kill_at: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "HQSEG_FAULT_KILL_AT_RENAME"}
    if kill_at is not None:
        env["HQSEG_FAULT_KILL_AT_RENAME"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "hqseg.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root``; the download manifest's run time is the one field
    that may differ between two runs, so it is left out."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(".lock"):  # an empty lock a kill may leave
            data = p.read_bytes()
            if p.name == "download.json":
                manifest = json.loads(data)
                manifest.pop("created", None)
                data = json.dumps(manifest, sort_keys=True).encode()
            files[p.relative_to(root).as_posix()] = data
    return files


def _kill_each_rename(tmp_path, prepare, args, outputs):
    """Run ``args`` (in a fresh copy made by ``prepare``) killed at rename 1, 2, ...;
    after each kill rerun it normally and compare ``outputs`` with a clean run."""
    clean = tmp_path / "clean"
    prepare(clean)
    res = _hqseg(args, clean)
    assert res.returncode == 0, res.stderr
    want = {o: _snapshot(clean / o) for o in outputs}
    killed = 0
    for n in range(1, MAX_RENAMES):
        for when in (str(n), f"{n}+"):
            work = tmp_path / f"k{when.replace('+', 'a')}"
            prepare(work)
            res = _hqseg(args, work, kill_at=when)
            if res.returncode == 0:
                break  # fewer than n renames: every one has been tried
            assert res.returncode == -signal.SIGKILL, res.stderr
            killed += 1
            rerun = _hqseg(args, work)
            assert rerun.returncode == 0, f"kill at {when}: {rerun.stderr}"
            for o in outputs:
                assert _snapshot(work / o) == want[o], f"kill at rename {when}: {o} differs"
            names = [p.name for o in outputs for p in (work / o).parent.iterdir()]
            assert not [p for p in names if ".tmp-" in p or ".old-" in p], names
        else:
            continue
        break
    assert killed >= 2  # the seam was reached


def _prepare_raw(root: Path) -> None:
    ecssd_raw(root / "raw", 2)


def test_build_killed_at_each_rename(tmp_path):
    args = ["build", "--raw-dir", "raw", "--normalized", "n", "--out", "out",
            "--allow-missing", "--workers", "1", "--stats-out", "stats.json"]  # fmt: skip
    _kill_each_rename(tmp_path, _prepare_raw, args, ["out", "n"])


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from hqseg.sample import write_sample

    out = tmp_path_factory.mktemp("sample")
    write_sample(out, seed=0)
    return out


def test_download_killed_at_each_rename(tmp_path, sample):
    folder = sample

    def prepare(root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)

    args = ["download", "ecssd", "--from", folder, "--raw-dir", "raw", "--quiet"]
    _kill_each_rename(tmp_path, prepare, args, ["raw"])


def test_eval_coco_sample_killed_at_each_rename(tmp_path):
    def prepare(root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)

    args = ["eval", "coco-sample", "--out", "coco"]
    _kill_each_rename(tmp_path, prepare, args, ["coco"])
