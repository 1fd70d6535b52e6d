"""The shared model options: ``--model-type`` (choices from hqseg.modeling.model_types),
``--device`` (a validated device name) and ``--random-weights``, and loading the predictor
they describe (:func:`load_cli_predictor`)."""

from __future__ import annotations

import click

from hqseg.modeling.model_types import (
    CLI_CHOICES,
    DEFAULT_MODEL_TYPE,
    DEPRECATED_ALIASES,
    resolve_model_type,
)

_NAMES = ", ".join(c for c in CLI_CHOICES if c not in DEPRECATED_ALIASES)


def _resolve(_ctx, _param, value: str | None) -> str | None:
    return None if value is None else resolve_model_type(value)


def model_type_option(help_text: str, *, default: str | None = None, name: str = "model_type"):
    """``--model-type`` as a click.Choice of every model type; deprecated aliases (``tiny``)
    are accepted with a warning and replaced by their new name."""
    return click.option(
        "--model-type",
        name,
        type=click.Choice(CLI_CHOICES),
        default=default,
        show_default=default is not None,
        callback=_resolve,
        metavar="TYPE",
        help=f"{help_text} One of: {_NAMES}.",
    )


class DeviceType(click.ParamType):
    """A torch device name, checked without importing torch: ``auto``, ``cpu``, ``cuda``,
    ``cuda:N`` or ``mps``. Whether CUDA exists is checked when the model is placed."""

    name = "device"
    NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        head, _, index = text.partition(":")
        if text in ("auto", "cpu", "cuda", "mps") or (head == "cuda" and index.isdigit()):
            return text
        self.fail(f"{value!r} is not a device; use one of {', '.join(self.NAMES)}", param, ctx)

    def get_metavar(self, param, ctx=None):
        return "[auto|cpu|cuda|cuda:N|mps]"


DEVICE = DeviceType()


def device_option(help_text: str, *, default: str | None = "auto", name: str = "device"):
    """``--device``: a validated :class:`DeviceType`."""
    return click.option(
        "--device",
        name,
        type=DEVICE,
        default=default,
        show_default=default is not None,
        help=f"torch device: cpu, cuda, cuda:N or mps; {help_text}",
    )


random_weights_option = click.option(
    "--random-weights",
    is_flag=True,
    help="Run a real model type (vit_*, sam2.1_*) with random weights when no --checkpoint "
    "is given (smoke runs; test_* types never need it).",
)
"""``--random-weights``: the explicit opt-in :func:`hqseg.modeling.startup.require_weights`
asks for."""


def load_cli_predictor(
    model_type, checkpoint: str | None, device: str, bf16: bool, resize_mode, *, data=None
):
    """Load the predictor of a model-running command (``device`` auto = cuda if available,
    under torchrun cuda:LOCAL_RANK) and print the start-up line (model, weights, device,
    ``data``; see hqseg.modeling.startup)."""
    import os

    import torch

    from hqseg.evaluation.predict import load_predictor
    from hqseg.modeling.startup import startup_line

    if model_type is None and checkpoint is None:
        model_type = DEFAULT_MODEL_TYPE

    if device == "auto":
        device = "cpu"
        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    predictor = load_predictor(
        model_type, checkpoint=checkpoint, device=device, bf16=bf16, resize_mode=resize_mode
    )
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun: one line, from rank 0
        return predictor
    click.echo(
        startup_line(
            getattr(predictor, "model", predictor),
            model_type=model_type,
            checkpoint=checkpoint,
            device=getattr(predictor, "device", device),
            data=data,
        )
    )
    return predictor
