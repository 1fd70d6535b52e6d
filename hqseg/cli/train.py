"""``hqseg train``: train HQ-SAM's HQ parameters (SAM frozen) on a ``hqseg build`` folder.

Every training setting is an option here and a key of the ``train:`` section of
params.yaml; an option given on the command line wins over params.yaml, which wins
over the built-in defaults (the official recipe).
"""

from __future__ import annotations

import dataclasses
import typing

import click

from hqseg.cli.model_type import device_option, model_type_option, random_weights_option
from hqseg.training.config import AMP_MODES, TrainConfig

_TYPES = {"int": int, "float": float, "str": str, "str | None": str}


def _setting_options(func):
    """Add one option per TrainConfig field (default None = not given)."""
    hints = typing.get_type_hints(TrainConfig)
    for f in reversed(dataclasses.fields(TrainConfig)):
        name = f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = ",".join(default) if isinstance(default, list) else default
        help_text = f"{f.metadata['help']} [default: {shown}]"
        hint = hints[f.name]
        if f.name == "model_type":
            option = model_type_option(f.metadata["help"] + f" [default: {shown}]")
        elif f.name == "device":
            option = device_option(f"auto = the GPU of this rank if CUDA exists [default: {shown}]",
                                   default=None)  # fmt: skip
        elif f.name == "amp":
            choice = click.Choice(list(AMP_MODES))
            option = click.option(f"--{name}", f.name, type=choice, default=None, help=help_text)
        elif hint is bool:
            option = click.option(f"--{name}/--no-{name}", f.name, default=None, help=help_text)
        elif typing.get_origin(hint) is list:
            option = click.option(
                f"--{name}", f.name, type=str, default=None, metavar="A,B,..", help=help_text
            )
        else:
            kind = int if hint is int else float if hint is float else str
            option = click.option(f"--{name}", f.name, type=kind, default=None, help=help_text)
        func = option(func)
    return func


@click.command("train")
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML file whose `train:` section gives the settings (e.g. params.yaml).",
)
@click.option(
    "--resume",
    default=None,
    metavar="PATH|auto",
    help="Continue from a training checkpoint; `auto` = <out>/checkpoints/last.pt if it "
    "exists (else start fresh).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help="A progress bar on a terminal (rank 0). --no-progress, and any run whose stderr "
    "is not a terminal (dvc repro, CI), prints a line every 10 steps or 30 s instead "
    "(step, loss, images/s, ETA). HQSEG_PROGRESS=off silences it.",
)
@random_weights_option
@_setting_options
def train_command(params_file, resume, progress, random_weights, **settings):
    """Train the HQ parameters of HQ-SAM with SAM frozen (the official recipe).

    \b
    Single process:   hqseg train --params params.yaml
    Several GPUs:     torchrun --standalone --nproc_per_node=8 "$(command -v hqseg)" \\
                        train --params params.yaml
    Resume:           hqseg train --params params.yaml --resume auto

    Writes into --out: checkpoints/last.pt (+ step files), dvclive/ (per-step
    metrics for `dvc plots`), training_curves.png, summary.json (held-out mIoU/mBIoU
    before and after), hq_only.pth and the official-format sam_hq_<type>.pth.
    A NaN/inf loss, gradient or weight stops the run (exit 2); the last checkpoint
    stays the last finite one.
    """
    from hqseg.modeling.startup import require_weights
    from hqseg.training.config import load_params
    from hqseg.training.loop import train

    values = load_params(params_file) if params_file else {}
    for key, value in settings.items():
        if value is None:
            continue
        if typing.get_origin(typing.get_type_hints(TrainConfig)[key]) is list:
            value = [v.strip() for v in value.split(",") if v.strip()]
        values[key] = value
    config = TrainConfig.from_dict(values, source=params_file or "options")
    require_weights(config.model_type, config.checkpoint, random_weights)
    result = train(config, resume=resume, progress=progress)
    click.echo(f"trained {result.steps} steps; outputs in {result.run_dir}")


COMMANDS: list = [train_command]
