"""What the training-run tests share: the fast settings and reading a run's outputs."""

from __future__ import annotations

from pathlib import Path

import torch

FAST = {
    "model_type": "test_vit",
    "batch_size": 1,
    "loss_points": 512,
    "validate": False,
    "device": "cpu",
}
"""Train settings of the tiny runs: test_vit, one image a step, no validation, CPU."""


def cli_args(settings: dict) -> list[str]:
    """``hqseg train`` options for ``settings`` (TrainConfig names; bools as --x/--no-x)."""
    args = []
    for key, value in settings.items():
        name = key.replace("_", "-")
        if isinstance(value, bool):
            args.append(f"--{name}" if value else f"--no-{name}")
        else:
            args += [f"--{name}", str(value)]
    return args


def hq_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The HQ parameters a finished run exported (``hq_only.pth``)."""
    return torch.load(run_dir / "hq_only.pth", weights_only=True)
