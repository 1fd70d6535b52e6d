"""Checkpoint files: reading model weights safely (once), writing them, checking keys.

"Checkpoint" here always means a file of model weights: an official HQ checkpoint, a
plain base one (SAM, MobileSAM, SAM 2.1), or an HQ-parameters-only file. A training
run's resumable state is something else (:mod:`hqseg.training.run_state`).

This module knows file formats, not model lines: what a state dict's keys mean, how a
line loads and saves them, and which model type a file holds belong to the line objects
(:mod:`hqseg.modeling.lines`); the model-level helpers at the end ask ``model.line``.
Files are read with ``torch.load(weights_only=True)``; every problem becomes a
:class:`~hqseg.errors.CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from hqseg.errors import CheckpointError
from hqseg.utils.atomic import WriteError, atomic_file

_SHOWN = 5


@dataclass
class LoadReport:
    """What loading a checkpoint into a model did.

    kind: ``"hq"`` (official HQ checkpoint, every key used), ``"sam"`` (plain base
    checkpoint; HQ parameters freshly initialised) or ``"none"`` (no checkpoint).
    """

    kind: Literal["hq", "sam", "none"]
    hq_initialised_fresh: bool
    path: str | None = None
    model_type: str | None = None
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)  # ignored: pixel_mean / _std

    def __str__(self) -> str:
        if self.kind == "none":
            return "no checkpoint: all parameters randomly initialised"
        if self.kind == "hq":
            return f"HQ-SAM checkpoint {self.path} ({self.model_type}): all keys loaded"
        return (
            f"SAM checkpoint {self.path} ({self.model_type}): SAM weights loaded, "
            f"{len(self.missing_keys)} HQ parameters initialised fresh"
        )


def short(keys: list[str]) -> str:
    """The first few of ``keys`` and how many there are, for one-line messages."""
    more = f", ... ({len(keys)} in all)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


@dataclass(frozen=True)
class KeyMismatch:
    """How a state dict differs from what a model expects (empty lists: it fits)."""

    missing: list[str]
    unexpected: list[str]
    wrong_shape: list[str]  # "key (got shape) != (wanted shape)"

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)

    def keys_text(self) -> str:
        """``missing a, b; unexpected c`` (key sets only)."""
        parts = [f"missing {short(self.missing)}"] if self.missing else []
        parts += [f"unexpected {short(self.unexpected)}"] if self.unexpected else []
        return "; ".join(parts)

    def __str__(self) -> str:
        shapes = [f"shape mismatch: {short(self.wrong_shape)}"] if self.wrong_shape else []
        return "; ".join([t for t in (self.keys_text(),) if t] + shapes)


def key_mismatch(want: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor]) -> KeyMismatch:
    """Compare the keys and shapes of ``got`` with ``want`` (both ``{name: tensor}``, in
    ``want``'s order): the one key/shape check of model and training loading."""
    return KeyMismatch(
        missing=[k for k in want if k not in got],
        unexpected=[k for k in got if k not in want],
        wrong_shape=[
            f"{k} {tuple(got[k].shape)} != {tuple(v.shape)}"
            for k, v in want.items()
            if k in got and got[k].shape != v.shape
        ],
    )


def safe_torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, with a one-line error.

    Raises:
        CheckpointError: the file is truncated, corrupt, not a torch file, or holds
            Python objects other than tensors (named in the message).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a hostile or broken file can fail anywhere in unpickling
        text = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)|Unsupported class ([\w.]+)", text)
        if found:  # torch's own text suggests loading unsafely: never repeat it, only the name
            raise CheckpointError(
                f"{path}: refused to load: it holds code or Python objects that are not "
                f"tensors (it references {next(g for g in found.groups() if g)}); a "
                "checkpoint must hold tensors only. Get the weights from a trusted source"
            ) from exc
        detail = text.split("WeightsUnpickler error:")[-1].strip().splitlines()
        detail = detail[0] if detail and detail[0] else type(exc).__name__
        if "weights_only" in detail or "Weights only" in detail:
            detail = "unpickling failed"
        raise CheckpointError(
            f"{path}: not a readable torch checkpoint (truncated, corrupt or not a torch "
            f"file): {type(exc).__name__}: {detail}"
        ) from exc


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a flat ``{name: tensor}`` state dict with ``weights_only=True``.

    A ``{"model": ...}`` or ``{"state_dict": ...}`` wrapper and a DDP ``module.``
    prefix are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    obj = safe_torch_load(path)
    if isinstance(obj, dict) and str(obj.get("format", "")).startswith("hqseg-train-checkpoint"):
        raise CheckpointError(
            f"{path}: a training checkpoint (for `hqseg train --resume`), not model weights; "
            "use the run's sam_hq_<type>.pth"
        )
    if isinstance(obj, dict):
        for wrapper in ("model", "state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: expected a state dict, got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        shown = short([repr(k) if not isinstance(k, str) else k for k in bad])
        raise CheckpointError(f"{path}: not a state dict: non-tensor entries {shown}")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


class Checkpoint(os.PathLike):
    """A model-weights file read once: its path (as given), its flat state dict and the
    model type its shapes say.

    It stands in for the path wherever one is taken (``os.fspath``, ``str``, hashing),
    so a command reads the file once and passes this along: to the provenance, the
    start-up line and :func:`hqseg.modeling.build_hq_sam`. Building from it
    :meth:`release`-s the state dict (the model holds the weights then); a later use of
    :attr:`state_dict` reads the file again.
    """

    def __init__(self, path: str | os.PathLike, state_dict: dict[str, torch.Tensor]) -> None:
        self.path = path
        self._state_dict: dict[str, torch.Tensor] | None = state_dict
        self._model_type: str | None = None

    @classmethod
    def read(cls, path: str | os.PathLike | Checkpoint) -> Checkpoint:
        """``path`` read with :func:`read_state_dict` (a Checkpoint is returned as is)."""
        return path if isinstance(path, Checkpoint) else cls(path, read_state_dict(path))

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r})"

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        if self._state_dict is None:
            self._state_dict = read_state_dict(self.path)
        return self._state_dict

    @property
    def model_type(self) -> str:
        """The model type whose shapes the file holds (CheckpointError if none)."""
        if self._model_type is None:
            from hqseg.modeling.lines import infer_model_type

            self._model_type = infer_model_type(self.state_dict, path=str(self))
        return self._model_type

    def release(self) -> None:
        """Drop the state dict (the path and model type stay)."""
        self._state_dict = None


def read_checkpoint(path: str | os.PathLike | Checkpoint | None) -> Checkpoint | None:
    """:meth:`Checkpoint.read`, passing ``None`` (no checkpoint) through."""
    return None if path is None else Checkpoint.read(path)


def check_finite(state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Refuse weights holding NaN or inf (an export would spread them silently).

    Raises:
        CheckpointError: naming the first tensors that are not finite.
    """
    bad = [k for k, v in state_dict.items() if v.is_floating_point() and not v.isfinite().all()]
    if bad:
        raise CheckpointError(f"{what}: weights hold NaN or inf values in {short(bad)}")


def save_state_dict(state_dict: dict[str, Any], path: str | os.PathLike) -> None:
    """Atomically ``torch.save`` a state dict (flat, or in a ``{"model": ...}`` wrapper).

    Raises:
        WriteError: the file could not be written (a full disk: torch reports it as a
            ``RuntimeError``, which is turned into one line here).
    """
    try:
        with atomic_file(path, "wb") as fh:
            torch.save(state_dict, fh)
    except RuntimeError as exc:  # PytorchStreamWriter: "file write failed" and the like
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WriteError(f"cannot write {path} (disk full?): {first}") from exc


# ---------------------------------------------------------------------- model-level helpers
# Each asks the model's line (set when the line built it), so they serve every line.


def hq_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The HQ entries of ``model.state_dict()`` (full names), detached CPU copies: what
    an HQ-parameters-only file (``hq_only.pth``) and a training run's state hold."""
    return model.line.hq_state_dict(model)


def load_hq_state(model: nn.Module, state: dict[str, torch.Tensor], *, source: str) -> None:
    """Copy an HQ state (as :func:`hq_state_dict` gives) into ``model``; keys and shapes
    must match exactly (CheckpointError naming ``source`` otherwise)."""
    model.line.load_hq_state(model, state, source=source)


def load_hq_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load an HQ-parameters-only file (``--hq-weights``; with or without the decoder's
    prefix) into ``model``; the base model's weights stay as they are."""
    model.line.load_hq_weights(model, read_state_dict(path), source=str(path))


def official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s flat state dict in its line's official key names, on CPU."""
    return model.line.official_state_dict(model)


def save_official_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Write ``model`` in its line's official file layout (atomic): ``sam_hq_vit_*.pth``'s
    flat state dict, or ``sam2.1_hq_hiera_*.pt``'s ``{"model": ...}``."""
    model.line.save_official(model, path)
