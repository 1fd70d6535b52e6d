"""What a model-loading command says before it starts, and the random-weights guard.

Every command that loads a model (train, eval hq, eval coco, export, predict) prints
one line first, e.g.::

    model vit_l | weights sam_hq_vit_l.pth sha256 3f0c...e1a2 | 1,234,567 parameters
    (5,137 trainable) | device cpu | data train=100, val dis_vd=6

A real model type (``vit_b``, ``sam2.1_hiera_l``, ...) without a checkpoint would run
with random weights and produce meaningless numbers, so :func:`require_weights` refuses
it unless the user says ``--random-weights``; the ``test_*`` configurations exist to run
with random weights and stay free. This module imports no torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError
from hqseg.modeling.model_types import DEFAULT_MODEL_TYPE, MODEL_TYPES, resolve_model_type

RANDOM = "RANDOM"
"""The weights field of a model built without a checkpoint."""


def require_weights(
    model_type: str | None, checkpoint: str | os.PathLike | None, random_weights: bool
) -> None:
    """Refuse a real model type without a checkpoint unless ``random_weights``.

    ``model_type`` None with no checkpoint means the default (``vit_l``).

    Raises:
        HqsegError: naming the flags that fix it.
    """
    if checkpoint is not None or random_weights:
        return
    name = resolve_model_type(model_type or DEFAULT_MODEL_TYPE)
    kind = MODEL_TYPES[name]
    if kind.test:
        return
    raise HqsegError(
        f"model type {name} has no --checkpoint: give --checkpoint FILE (e.g. "
        f"{kind.hq_checkpoint}, or {kind.base_checkpoint} for the base model) or "
        "--random-weights to run it with random weights (smoke runs only)"
    )


def weights_text(checkpoint: str | os.PathLike | None) -> str:
    """``<file> sha256 <hex>`` of a checkpoint, or ``RANDOM`` without one."""
    if checkpoint is None:
        return RANDOM
    from hqseg.utils.checksums import sha256_file

    return f"{checkpoint} sha256 {sha256_file(Path(checkpoint))}"


def data_text(data: Mapping[str, Any] | None) -> str:
    """``name=count, ...`` of a data mapping (values: counts or nested mappings)."""
    if not data:
        return "none"
    parts = []
    for name, value in data.items():
        if isinstance(value, Mapping):
            inner = ", ".join(f"{k}={v}" for k, v in value.items())
            parts.append(f"{name} {inner}" if inner else f"{name} none")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def startup_line(
    model: Any,
    *,
    model_type: str | None,
    checkpoint: str | os.PathLike | None,
    device: Any,
    data: Mapping[str, Any] | None = None,
) -> str:
    """The one start-up line (see module doc) of a built ``model`` (a torch module).

    Args:
        model_type: the type that was built (None: read from ``model.model_type``).
        checkpoint: the file loaded (None: random weights).
        device: where it runs (a ``torch.device`` or its name).
        data: what it will read, e.g. ``{"train": 100, "val": {"dis_vd": 6}}``.
    """
    name = model_type or getattr(model, "model_type", None) or "?"
    counted = "parameters unknown"
    if hasattr(model, "parameters"):  # a torch module (a stand-in predictor may not be)
        params = list(model.parameters())
        trainable = sum(p.numel() for p in params if p.requires_grad)
        counted = f"{sum(p.numel() for p in params):,} parameters ({trainable:,} trainable)"
    return (
        f"model {name} | weights {weights_text(checkpoint)} | {counted} | device {device} "
        f"| data {data_text(data)}"
    )
