"""Parsing a user's ``--device`` value into a ``torch.device`` with a clear error."""

from __future__ import annotations

from typing import Any

from hqseg.errors import HqsegError


def parse_device(name: Any):
    """``torch.device(name)``; a string torch does not accept, or CUDA where there is
    none, raises :class:`HqsegError`.

    Accepted: ``cpu``, ``cuda``, ``cuda:N`` and the other device strings of torch
    (``mps``, ``xpu:N``...), or a ``torch.device``.
    """
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise HqsegError(
            f"invalid device {name!r}: expected auto, cpu, cuda or cuda:N ({exc})"
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HqsegError(f"--device {name} was requested but CUDA is not available")
    return device
