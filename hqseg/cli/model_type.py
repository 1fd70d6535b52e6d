"""The shared ``--model-type`` option; its choices come from hqseg.modeling.model_types."""

from __future__ import annotations

import click

from hqseg.modeling.model_types import CLI_CHOICES, DEPRECATED_ALIASES, resolve_model_type

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
