"""End-to-end training runs on CPU with the tiny model, in this process: it learns, a
diverging run stops cleanly, progress lines, one-line errors. Kill-and-resume and torchrun,
where the process boundary is what is tested: test_training_processes.py."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from run_helpers import FAST, cli_args, hq_weights

from hqseg.cli import main
from hqseg.training.config import TrainConfig
from hqseg.training.loop import train


@pytest.mark.slow
def test_training_learns_loss_falls_and_heldout_miou_rises(data, tmp_path, capsys):
    # One image, no jitter, box prompts: every step sees the same batch, so the loss must fall.
    config = TrainConfig(
        **{**FAST, "validate": True, "val_limit": 2},
        data=str(data),
        out=str(tmp_path / "run"),
        limit_train_samples=1,
        epochs=6,
        val_every=4,  # before training, after epoch 4 and after the last
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
    val_rows = (run / "dvclive" / "plots" / "metrics" / "val" / "mIoU.tsv").read_text()
    assert [line.split("\t")[0] for line in val_rows.splitlines()[1:]] == ["0", "4", "6"]
    assert (run / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    # the official-format export holds SAM's keys and the trained HQ ones
    official = torch.load(run / "sam_hq_test_vit.pth", weights_only=True)
    hq = hq_weights(run)
    assert len(hq) == 25  # FACTS §2: the HQ keys
    for name, value in hq.items():
        assert torch.equal(official[name], value)
    assert any(k.startswith("image_encoder.") for k in official)


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
    proc = CliRunner().invoke(main, ["train", *cli_args(settings), "--no-progress"])
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
    proc = CliRunner().invoke(main, ["train", *cli_args(settings)], env={"HQSEG_PROGRESS": ""})
    assert proc.exit_code == 0, proc.output[-2000:]
    assert "train: 1/2 steps (50%) loss=" in proc.stderr, proc.stderr[-2000:]
    # one start-up line first: model, weights, parameters, device, data counts
    first = proc.stdout.splitlines()[0]
    assert first.startswith("model test_vit | weights RANDOM | "), proc.stdout[:500]
    assert " trainable) | device cpu | data default/train=" in first
    assert "train: 2/2 steps (100%) loss=" in proc.stderr
    assert "img_s=" in proc.stderr and "steps/s" in proc.stderr
