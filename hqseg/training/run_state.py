"""A training run's resumable state (``hqseg train --resume``): atomic, HQ-only, loadable
with ``torch.load(weights_only=True)``.

Not model weights: those are checkpoints (:mod:`hqseg.modeling.checkpoint`); the run
exports them at its end (``sam_hq_<type>.pth``, ``hq_only.pth``). The files are still
called checkpoints on disk, and their format name is kept, so old runs resume.

Layout under the run folder::

    checkpoints/last.pt            the newest state (what ``--resume auto`` reads)
    checkpoints/step_0000120.pt    one file per checkpointed optimiser step

A run state holds the HQ parameters (never the frozen SAM weights), the optimiser
and scheduler states, the position (epoch, micro-batches done in that epoch,
optimiser steps), RNG states as tensors/plain types, the run's settings and its
metric history (rows keyed by step, see :mod:`hqseg.training.history`), so the
history and the weights it describes are always written together.

RNG states are rank 0's. Nothing in a training step draws from the global RNGs
(sample randomness comes from (seed, epoch, index), loss points from
(seed, rank, step, micro-batch)), so other ranks simply reseed on resume.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hqseg.errors import CheckpointError
from hqseg.utils.atomic import write_bytes

FORMAT = "hqseg-train-checkpoint-v1"


@dataclass(frozen=True)
class Position:
    """Where training stands: ``epoch``, ``batches_done`` in it, optimiser ``step`` overall."""

    epoch: int = 0
    batches_done: int = 0
    step: int = 0


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as weights_only-safe values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "gauss": gauss,
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(_as_tuple(state["python"]))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, list | tuple) else x


def save_run_state(
    run_dir: str | Path,
    *,
    hq_state: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    position: Position,
    config: dict[str, Any],
    history: dict[int, dict[str, float]] | None = None,
    keep_step_file: bool = True,
) -> Path:
    """Write ``checkpoints/last.pt`` (and a step file) atomically; return last.pt's path.

    Raises:
        CheckpointError: an HQ parameter holds NaN or inf (a diverged run must not
            replace the last finite checkpoint).
    """
    bad = [name for name, value in hq_state.items() if not torch.isfinite(value).all()]
    if bad:
        raise CheckpointError(
            f"refusing to checkpoint step {position.step}: non-finite values in {bad[:3]}"
        )
    payload = {
        "format": FORMAT,
        "hq": hq_state,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "position": {
            "epoch": position.epoch,
            "batches_done": position.batches_done,
            "step": position.step,
        },
        "rng": rng_state(),
        "config": config,
        "history": history or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    folder = Path(run_dir) / "checkpoints"
    if keep_step_file:
        write_bytes(folder / f"step_{position.step:07d}.pt", data)
    last = folder / "last.pt"
    write_bytes(last, data)
    return last


def load_run_state(path: str | Path) -> dict[str, Any]:
    """Read a run state (a training checkpoint) safely.

    Raises:
        CheckpointError: missing, corrupt or not a hqseg training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training checkpoint {path} does not exist")
    from hqseg.modeling.checkpoint import safe_torch_load

    payload = safe_torch_load(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a hqseg training checkpoint (expected format {FORMAT!r}); "
            "to start from released weights pass it as --checkpoint instead"
        )
    return payload


def position_of(payload: dict[str, Any]) -> Position:
    p = payload["position"]
    return Position(int(p["epoch"]), int(p["batches_done"]), int(p["step"]))


def resolve_resume(resume: str | None, run_dir: str | Path) -> Path | None:
    """``None``/"" -> no resume; ``"auto"`` -> last.pt of the run if present; else the path."""
    if not resume:
        return None
    if resume == "auto":
        last = Path(run_dir) / "checkpoints" / "last.pt"
        return last if last.is_file() else None
    return Path(resume)
