"""Training runs as separate processes: killed with SIGKILL (mid-epoch, during validation,
at export) then resumed to the uninterrupted run's exact weights and history; a two-process
gloo run under torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from run_helpers import FAST, cli_args, hq_weights

from hqseg.training.loop import KILL_AT_ENV, KILL_ENV
from hqseg.training.monitor import read_metric

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from warm_runner import WarmRunner  # noqa: E402

HQSEG = str(Path(sys.executable).with_name("hqseg"))


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", PYTHONPATH=os.getcwd())
    env.pop(KILL_ENV, None)
    env.pop(KILL_AT_ENV, None)
    return env


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Two warm processes (one per core), single-threaded: the same float order in every
    run. Each ``hqseg train`` is a fork of one of them: a fresh process as far as training
    can tell (SIGKILL kills only it), without the seconds of importing torch each time."""
    warm = [
        WarmRunner(tmp_path_factory.mktemp("logs"), env={"OMP_NUM_THREADS": "1"}) for _ in range(2)
    ]
    yield warm
    for runner in warm:
        runner.close()


def _run_cli(runner: WarmRunner, settings: dict, *extra: str, env: dict | None = None):
    """``hqseg train`` in a fresh single-threaded process (a fork of ``runner``)."""
    return runner.run(["train", *cli_args(settings), "--no-progress", *extra], Path.cwd(), env)


def _beside(reference, chain):
    """Run ``reference()`` and ``chain()`` at once (one core each); their results."""
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(reference), pool.submit(chain)]
        return [f.result() for f in futures]


@pytest.mark.slow
def test_kill_mid_epoch_then_resume_gives_identical_weights(data, tmp_path, runners):
    settings = {
        **FAST,
        "data": str(data),
        "limit_train_samples": 2,
        "epochs": 2,
        "max_steps": 3,
        "checkpoint_every": 1,
        "lr_drop_epoch": 1,
    }
    run_a, run_b = tmp_path / "a", tmp_path / "b"

    def kill_then_resume():
        # killed with SIGKILL right after the step-1 checkpoint (mid-epoch 0) ...
        killed = _run_cli(runners[1], {**settings, "out": str(run_b)}, env={KILL_ENV: "1"})
        assert killed.code == -signal.SIGKILL, killed.output[-2000:]
        assert (run_b / "checkpoints" / "step_0000001.pt").is_file()
        assert not (run_b / "hq_only.pth").exists()
        # ... then resumed: finishes epoch 0, steps StepLR, runs into epoch 1
        return _run_cli(runners[1], {**settings, "out": str(run_b)}, "--resume", "auto")

    reference, resumed = _beside(
        lambda: _run_cli(runners[0], {**settings, "out": str(run_a)}), kill_then_resume
    )
    assert reference.code == 0, reference.output[-2000:]
    assert resumed.code == 0, resumed.output[-2000:]
    assert "resuming from" in resumed.output and "step 1" in resumed.output
    a, b = hq_weights(run_a), hq_weights(run_b)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # the logged loss history is the uninterrupted one (rows after the checkpoint dropped)
    history_a, history_b = read_metric(run_a, "train/loss"), read_metric(run_b, "train/loss")
    assert [s for s, _ in history_b] == [1, 2, 3] and history_a == history_b
    last_a = torch.load(run_a / "checkpoints" / "last.pt", weights_only=True)
    last_b = torch.load(run_b / "checkpoints" / "last.pt", weights_only=True)
    assert last_a["position"] == last_b["position"] == {"epoch": 1, "batches_done": 1, "step": 3}
    assert last_a["scheduler"] == last_b["scheduler"]


def _run_outputs(run: Path) -> dict[str, object]:
    """Every file a run leaves that a user reads (metrics, summary, exports), less timings."""
    files: dict[str, object] = {
        n: (run / n).read_bytes() for n in ["summary.json", "hq_only.pth", "sam_hq_test_vit.pth"]
    }
    latest = json.loads((run / "dvclive" / "metrics.json").read_text())
    latest["train"].pop("images_per_s")  # wall-clock speed, differs run to run
    files["dvclive/metrics.json"] = latest
    for tsv in sorted((run / "dvclive" / "plots" / "metrics").rglob("*.tsv")):
        if tsv.stem != "images_per_s":
            files[str(tsv.relative_to(run))] = tsv.read_bytes()
    return files


@pytest.mark.slow
def test_kill_during_validation_and_at_export_then_resume_keeps_the_exact_history(
    data, tmp_path, runners
):
    # 2 samples, batch 1: epoch ends (and validates) at steps 2 and 4; the run stops at 3.
    settings = {
        **FAST,
        "validate": True,
        "val_limit": 1,
        "data": str(data),
        "limit_train_samples": 2,
        "epochs": 2,
        "max_steps": 3,
        "checkpoint_every": 1,
    }
    run_a, run_b = tmp_path / "a", tmp_path / "b"

    def kill_twice_then_resume():
        run = runners[1]
        killed = _run_cli(run, {**settings, "out": str(run_b)}, env={KILL_AT_ENV: "validation"})
        assert killed.code == -signal.SIGKILL, killed.output[-2000:]
        assert [s for s, _ in read_metric(run_b, "val/mIoU")] == [0]  # step 2's row not saved
        at_export = {KILL_AT_ENV: "export"}
        killed = _run_cli(run, {**settings, "out": str(run_b)}, "--resume", "auto", env=at_export)
        assert killed.code == -signal.SIGKILL, killed.output[-2000:]
        assert not (run_b / "summary.json").exists()
        return _run_cli(run, {**settings, "out": str(run_b)}, "--resume", "auto")

    reference, resumed = _beside(
        lambda: _run_cli(runners[0], {**settings, "out": str(run_a)}), kill_twice_then_resume
    )
    assert reference.code == 0, reference.output[-2000:]
    assert resumed.code == 0, resumed.output[-2000:]
    assert "resuming from" in resumed.output and "step 3" in resumed.output
    assert [s for s, _ in read_metric(run_a, "val/mIoU")] == [0, 2, 3]
    assert _run_outputs(run_a) == _run_outputs(run_b)
    summary = json.loads((run_b / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["final_loss"] is not None


@pytest.mark.slow
def test_two_process_gloo_run_ends_with_identical_weights(data, tmp_path):
    settings = {**FAST, "data": str(data), "epochs": 1, "max_steps": 2}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            HQSEG,
            "train",
            *cli_args({**settings, "out": str(tmp_path / "ddp")}),
            "--no-progress",
        ],
        env={**_env(), "HQSEG_TRAIN_DUMP_RANK_WEIGHTS": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "ddp" / "rank0_hq.pth", weights_only=True)
    r1 = torch.load(tmp_path / "ddp" / "rank1_hq.pth", weights_only=True)
    for name in r0:
        assert torch.equal(r0[name], r1[name]), name
    assert torch.equal(hq_weights(tmp_path / "ddp")[next(iter(r0))], r0[next(iter(r0))])
