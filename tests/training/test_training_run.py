"""End-to-end training runs on CPU with the tiny model: learning, kill-and-resume, torchrun."""

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
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.training.config import TrainConfig
from hqseg.training.loop import KILL_AT_ENV, KILL_ENV, train
from hqseg.training.monitor import read_metric

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from warm_runner import WarmRunner  # noqa: E402

HQSEG = str(Path(sys.executable).with_name("hqseg"))
FAST = {
    "model_type": "test_vit",
    "batch_size": 1,
    "loss_points": 512,
    "validate": False,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def data(build_folder) -> Path:
    return build_folder


def _cli_args(settings: dict) -> list[str]:
    args = []
    for key, value in settings.items():
        name = key.replace("_", "-")
        if isinstance(value, bool):
            args.append(f"--{name}" if value else f"--no-{name}")
        else:
            args += [f"--{name}", str(value)]
    return args


def _hq_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "hq_only.pth", weights_only=True)


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", PYTHONPATH=os.getcwd())
    env.pop(KILL_ENV, None)
    env.pop(KILL_AT_ENV, None)
    return env


@pytest.mark.slow
def test_training_learns_loss_falls_and_heldout_miou_rises(data, tmp_path, capsys):
    # One image, no jitter, box prompts: every step sees the same batch, so the loss must fall.
    config = TrainConfig(
        **{**FAST, "validate": True, "val_limit": 2},
        data=str(data),
        out=str(tmp_path / "run"),
        limit_train_samples=1,
        epochs=6,
        flip_prob=0.0,
        scale_min=1.0,
        scale_max=1.0,
        prompt_types=["box"],
    )
    result = train(config, progress=False)
    losses = [loss for _, loss in result.losses]
    assert len(losses) == 6
    assert losses[-1] < 0.6 * losses[0], losses
    assert result.val_after["mIoU"] > result.val_before["mIoU"] + 10
    printed = capsys.readouterr().out
    assert "held-out mIoU" in printed and "before -> after" in printed
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["val_after"]["mIoU"] == pytest.approx(result.val_after["mIoU"])
    loss_tsv = run / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv"
    assert len(loss_tsv.read_text().splitlines()) == 1 + 6
    assert (run / "dvclive" / "plots" / "metrics" / "val" / "mIoU.tsv").is_file()
    assert (run / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    # the official-format export holds SAM's keys and the trained HQ ones
    official = torch.load(run / "sam_hq_test_vit.pth", weights_only=True)
    hq = _hq_weights(run)
    assert len(hq) == 25  # FACTS §2: the HQ keys
    for name, value in hq.items():
        assert torch.equal(official[name], value)
    assert any(k.startswith("image_encoder.") for k in official)


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Two warm processes (one per core), single-threaded: the same float order in every
    run. Each ``hqseg train`` is a fork of one of them: a fresh process as far as training
    can tell (SIGKILL kills only it), without the seconds of importing torch each time."""
    warm = [
        WarmRunner(tmp_path_factory.mktemp("logs"), env={"OMP_NUM_THREADS": "1"})
        for _ in range(2)
    ]
    yield warm
    for runner in warm:
        runner.close()


def _run_cli(runner: WarmRunner, settings: dict, *extra: str, env: dict | None = None):
    """``hqseg train`` in a fresh single-threaded process (a fork of ``runner``)."""
    return runner.run(["train", *_cli_args(settings), "--no-progress", *extra], Path.cwd(), env)


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
    a, b = _hq_weights(run_a), _hq_weights(run_b)
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
            *_cli_args({**settings, "out": str(tmp_path / "ddp")}),
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
    assert torch.equal(_hq_weights(tmp_path / "ddp")[next(iter(r0))], r0[next(iter(r0))])


def test_missing_dataset_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        main, ["train", "--data", str(tmp_path / "nowhere"), "--model-type", "test_vit"]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output and "hqseg build" in result.output
    assert "Traceback" not in result.output


def test_missing_or_foreign_sam_checkpoint_is_a_clear_error(data, tmp_path):
    base = ["train", "--data", str(data), "--model-type", "test_vit", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, [*base, "--checkpoint", str(tmp_path / "sam.pth")])
    assert result.exit_code == 2 and "sam.pth" in result.output and "not" in result.output
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    result = CliRunner().invoke(main, [*base, "--checkpoint", str(junk)])
    assert result.exit_code == 2 and "junk.pth" in result.output


def test_resume_rejects_a_file_that_is_not_a_training_checkpoint(data, tmp_path):
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(1)}, bogus)
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--data",
            str(data),
            "--model-type",
            "test_vit",
            "--no-validate",
            "--out",
            str(tmp_path / "r"),
            "--resume",
            str(bogus),
        ],
    )
    assert result.exit_code == 2 and "not a hqseg training checkpoint" in result.output


def test_params_file_settings_and_unknown_keys(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  model_type: test_vit\n  lerning_rate: 0.1\n")
    result = CliRunner().invoke(main, ["train", "--params", str(params)])
    assert result.exit_code == 2 and "lerning_rate" in result.output


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
def test_a_diverging_run_stops_with_one_line_and_keeps_a_finite_checkpoint(data, tmp_path):
    settings = {
        **FAST,
        "data": str(data),
        "limit_train_samples": 4,
        "max_steps": 8,
        "checkpoint_every": 1,
        "lr": 1e9,
        "out": str(tmp_path / "run"),
    }
    # in-process (no interpreter start-up): the CLI's own error path, as a subprocess sees it
    proc = CliRunner().invoke(main, ["train", *_cli_args(settings), "--no-progress"])
    assert proc.exit_code == 2, proc.output[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "training diverged at step" in lines[0], proc.stderr[-2000:]
    assert "lower --lr" in lines[0]
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in last["hq"].values())
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "run" / "hq_only.pth").exists()


@pytest.mark.slow
def test_without_a_terminal_training_prints_progress_lines(data, tmp_path):
    settings = {**FAST, "data": str(data), "max_steps": 2, "out": str(tmp_path / "run")}
    # no --no-progress: CliRunner's stderr, like a pipe, is not a terminal
    proc = CliRunner().invoke(main, ["train", *_cli_args(settings)], env={"HQSEG_PROGRESS": ""})
    assert proc.exit_code == 0, proc.output[-2000:]
    assert "train: 1/2 steps (50%) loss=" in proc.stderr, proc.stderr[-2000:]
    # one start-up line first: model, weights, parameters, device, data counts
    first = proc.stdout.splitlines()[0]
    assert first.startswith("model test_vit | weights RANDOM | "), proc.stdout[:500]
    assert " trainable) | device cpu | data default/train=" in first
    assert "train: 2/2 steps (100%) loss=" in proc.stderr
    assert "img_s=" in proc.stderr and "steps/s" in proc.stderr
