"""Kill -9 at each atomic rename of download, build, train and eval; rerun; compare outputs.

The seam: ``HQSEG_FAULT_KILL_AT_RENAME=N`` makes the process SIGKILL itself just
before its N-th rename through :mod:`hqseg.utils.atomic` (``N+``: just after). The
clean run records the call site of each rename; for the first rename of every site
(and the last rename of all), before and after it, the killed run is followed by a
normal rerun, whose outputs must equal those of one uninterrupted run of the same
command (byte for byte, but for a run's timing: see :func:`_snapshot`).

Cost: every run is a fork of a warm process (:mod:`warm_runner`) that has already
imported the libraries; the clean run counts the renames and their sites, and the
kill points, being independent, run two at a time (one per core); the inputs are the
smallest that reach every rename site: two tiny images (one for ``eval hq``), the
``test_vit`` model, one training step.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import blob, ecssd_raw, photo, save  # noqa: E402
from warm_runner import WarmRunner  # noqa: E402

from hqseg.utils.faults import KILL_AT_RENAME  # noqa: E402

WORKERS = 2  # kill points run side by side, one per core
pytestmark = pytest.mark.slow  # about a hundred short runs
KILL = KILL_AT_RENAME


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Two warm processes (one per core), single-threaded: the same float order in every
    run (train) and no oversubscription."""
    warm = [
        WarmRunner(tmp_path_factory.mktemp("logs"), env={"OMP_NUM_THREADS": "1"})
        for _ in range(WORKERS)
    ]
    yield warm
    for runner in warm:
        runner.close()


def _normalized(name: str, data: bytes) -> bytes:
    """``data`` without what may differ between two equal runs: training's images/s (in
    the metric files and in each checkpoint's history; the weights, optimiser, RNG states
    and every other row are compared). The download manifest holds no run time: it is
    compared byte for byte."""
    if name == "images_per_s.tsv":
        return b"\n".join(line.split(b"\t")[0] for line in data.splitlines())
    if name == "metrics.json" and b"images_per_s" in data:
        metrics = json.loads(data)
        metrics["train"].pop("images_per_s")
        return json.dumps(metrics, sort_keys=True).encode()
    if name.endswith(".pt"):
        import torch

        state = torch.load(io.BytesIO(data), weights_only=True)
        for row in state["history"].values():
            row.pop("train/images_per_s", None)
        return repr(state).encode()  # tensors print their values: all of them compared
    return data


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (normalised, see :func:`_normalized`)."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(".lock"):  # an empty lock a kill may leave
            files[p.relative_to(root).as_posix()] = _normalized(p.name, p.read_bytes())
    return files


def _kill_renames(sites: list[str]) -> list[int]:
    """The renames (1-based) to kill at: the first one made at each call site, and the last
    rename of all. A site is the code that renames, with its callers (``sites[i]``: see
    ``warm_runner._rename_site``); the later renames of a site only repeat it for other
    files (a loop over metric files, shards, sources), in a state that the first one's
    "after" point already shows: some of that site's files written, the others not."""
    first = {}
    for n, site in enumerate(sites, 1):
        first.setdefault(site, n)
    return sorted({*first.values(), len(sites)})


def _kill_each_rename(runners, tmp_path, prepare, args, outputs):
    """Run ``args`` (in a fresh folder made by ``prepare``) killed before and after renames
    (every call site: :func:`_kill_renames`); after each kill rerun it normally and compare
    ``outputs`` with an uninterrupted run. The kill points are independent: they run side
    by side."""
    clean = tmp_path / "clean"
    prepare(clean)
    res = runners[0].run(args, clean)
    assert res.code == 0, res.output
    assert res.renames >= 1, "the seam is never reached"
    assert len(res.sites) == res.renames
    want = {o: _snapshot(clean / o) for o in outputs}
    points = [w for n in _kill_renames(res.sites) for w in (str(n), f"{n}+")]

    def kill_then_rerun(runner, when):
        work = tmp_path / f"k{when.replace('+', 'a')}"
        prepare(work)
        killed = runner.run(args, work, env={KILL: when})
        assert killed.code == -signal.SIGKILL, f"kill at {when}: {killed.output}"
        rerun = runner.run(args, work)
        assert rerun.code == 0, f"kill at {when}: {rerun.output}"
        for o in outputs:
            assert _snapshot(work / o) == want[o], f"kill at rename {when}: {o} differs"
        names = [p.name for o in outputs for p in (work / o).parent.iterdir()]
        assert not [p for p in names if ".tmp-" in p or ".old-" in p], names
        shutil.rmtree(work)  # keep the disk use of the test small

    def chain(k):
        for when in points[k::WORKERS]:
            kill_then_rerun(runners[k], when)

    with ThreadPoolExecutor(WORKERS) as pool:
        for done in [pool.submit(chain, k) for k in range(WORKERS)]:
            done.result()


def _mkdir(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Two ECSSD pairs in their original layout."""
    root = tmp_path_factory.mktemp("raw")
    ecssd_raw(root, 2)
    return root


def test_download_killed_at_each_rename(runners, tmp_path, raw):
    archives = tmp_path / "archives"  # ECSSD's two archives, made of the raw pairs
    archives.mkdir()
    for name in ("images", "ground_truth_mask"):
        with zipfile.ZipFile(archives / f"{name}.zip", "w") as zf:
            for file in sorted((raw / "ecssd" / name).iterdir()):
                zf.write(file, f"{name}/{file.name}")
    args = ["download", "ecssd", "--from", archives, "--raw-dir", "raw", "--no-progress"]
    _kill_each_rename(runners, tmp_path, _mkdir, args, ["raw"])


def test_build_killed_at_each_rename(runners, tmp_path, raw):
    args = ["build", "--raw-dir", raw, "--normalized", "n", "--out", "out",
            "--allow-missing", "--workers", "1", "--stats-out", "stats.json"]  # fmt: skip
    _kill_each_rename(runners, tmp_path, _mkdir, args, ["out", "n"])


def test_eval_coco_sample_killed_at_each_rename(runners, tmp_path):
    _kill_each_rename(runners, tmp_path, _mkdir, ["eval", "coco-sample", "--out", "coco"], ["coco"])


def test_eval_hq_killed_at_each_rename(runners, tmp_path, model):
    bench = tmp_path / "bench"
    save(photo(0), bench / "images" / "0.jpg", quality=90)  # one image: the encoder dominates
    save(blob(), bench / "masks" / "0.png")
    args = ["eval", "hq", "--benchmark", f"folder:{bench}?name=mine", "--out", "hq",
            "--model-type", "test_vit", "--checkpoint", model, "--device", "cpu", "--no-sam",
            "--no-progress"]  # fmt: skip
    _kill_each_rename(runners, tmp_path, _mkdir, args, ["hq"])


def test_train_killed_at_each_rename_then_resumed(runners, tmp_path, raw):
    """Rerun as a user would after a kill (`--resume auto`, also given to the first run)."""
    res = runners[0].run(["build", "--raw-dir", raw, "--normalized", "n", "--out", "data",
                      "--allow-missing", "--workers", "1"], tmp_path)  # fmt: skip
    assert res.code == 0, res.output
    args = ["train", "--data", tmp_path / "data", "--out", "run", "--model-type", "test_vit",
            "--max-steps", "1", "--batch-size", "1", "--loss-points", "64", "--no-validate",
            "--device", "cpu", "--no-progress", "--resume", "auto"]  # fmt: skip
    _kill_each_rename(runners, tmp_path, _mkdir, args, ["run"])
