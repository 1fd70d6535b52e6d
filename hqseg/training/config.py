"""Every training setting in one place: the official recipe as defaults (FACTS §3).

Each field has a ``params.yaml`` counterpart under ``train:`` and a ``hqseg train``
option of the same name (underscores become dashes).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError

PROMPT_TYPES: tuple[str, ...] = ("box", "points", "noise_mask")
"""The recipe's prompt types (see :mod:`hqseg.training.prompts`)."""

AMP_MODES: tuple[str, ...] = ("none", "bf16")
"""``amp`` values: full precision or bfloat16 autocast."""


class ConfigError(HqsegError):
    """A training setting is unknown or out of range."""


def _opt(default: Any, help: str) -> Any:  # noqa: A002
    """A setting with its default and the help text shown by ``hqseg train --help``."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Training settings. Defaults are the official HQ-SAM recipe."""

    # data
    data: str = _opt("data/hqseg44k", "HQSeg-44K folder written by `hqseg build`.")
    train_config: str = _opt("default", "Dataset config (card `configs:` name) to train on.")
    train_split: str = _opt("train", "Split of --train-config to train on.")
    limit_train_samples: int = _opt(0, "Use only the first N training records (0 = all).")
    val_config: str = _opt("hq_eval", "Dataset config holding the held-out validation splits.")
    val_splits: list[str] = _opt(
        ["dis_vd"], "Validation splits (comma-separated), e.g. dis_vd,coift,hrsod,thin."
    )
    val_limit: int = _opt(0, "Validate on the first N images of each split (0 = all).")
    validate: bool = _opt(True, "Score held-out mIoU/mBIoU before training and at every epoch end.")
    val_every: int = _opt(
        1, "Validate at every N-th epoch end only (and always after the last step); 1 = each."
    )
    # model
    model_type: str = _opt(
        "vit_l", "Model type (hqseg.modeling.model_types; test_* = small test configurations)."
    )
    checkpoint: str | None = _opt(
        None, "SAM (sam_vit_*.pth) or HQ-SAM checkpoint to start from; unset = random init."
    )
    # optimisation
    epochs: int = _opt(12, "Number of epochs.")
    max_steps: int = _opt(0, "Stop after this many optimiser steps in all (0 = no limit).")
    batch_size: int = _opt(4, "Images per process per micro-batch.")
    grad_accum: int = _opt(1, "Micro-batches accumulated per optimiser step.")
    lr: float = _opt(1e-3, "Adam learning rate (no weight decay).")
    lr_drop_epoch: int = _opt(10, "StepLR: multiply the lr by --lr-gamma every this many epochs.")
    lr_gamma: float = _opt(0.1, "StepLR decay factor.")
    # augmentation and prompts
    flip_prob: float = _opt(0.5, "Probability of a horizontal flip.")
    scale_min: float = _opt(0.1, "Large-scale jitter: smallest long-side scale (x 1024).")
    scale_max: float = _opt(2.0, "Large-scale jitter: largest long-side scale (x 1024).")
    prompt_types: list[str] = _opt(
        list(PROMPT_TYPES), "Prompt types drawn uniformly per image (comma-separated)."
    )
    prompt_points: int = _opt(10, "Foreground points of a `points` prompt.")
    box_noise_scale: float = _opt(
        0.0, "Box prompt jitter (fraction of box size); the official recipe uses none."
    )
    # loss
    loss_points: int = _opt(12544, "Points sampled per mask for the loss (112^2 officially).")
    oversample_ratio: float = _opt(3.0, "PointRend oversampling of candidate points.")
    importance_ratio: float = _opt(0.75, "Fraction of loss points chosen by uncertainty.")
    # run
    out: str = _opt(
        "runs/hq_sam",
        "Run folder: checkpoints/, dvclive/, exports, curves (one run at a time; a folder "
        "holding files but no train marker, checkpoints/.hqseg-output.json, is refused).",
    )
    seed: int = _opt(42, "Base seed; rank r uses seed + r, samples use (seed, epoch, index).")
    device: str = _opt("auto", "auto (GPU of this rank if CUDA exists), cpu, cuda or cuda:N.")
    amp: str = _opt("none", "Mixed precision: none or bf16 (autocast).")
    compile: bool = _opt(False, "torch.compile the image encoder and mask decoder.")
    num_workers: int = _opt(
        -1, "DataLoader worker processes per rank (-1 = auto: 0 on CPU, up to 4 per GPU)."
    )
    checkpoint_every: int = _opt(0, "Checkpoint every N optimiser steps (0 = at epoch ends only).")
    log_every: int = _opt(1, "Log metrics every N optimiser steps.")

    def __post_init__(self) -> None:
        self.validate_values()
        from hqseg.modeling.model_types import resolve_model_type  # torch-free

        try:  # the deprecated `tiny` becomes `test_vit` (with a warning)
            self.model_type = resolve_model_type(self.model_type)
        except ValueError as exc:
            raise ConfigError(f"invalid training setting: {exc}") from exc

    def validate_values(self) -> None:
        """Raise :class:`ConfigError` naming the first bad setting."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"invalid training setting: {f.name} must be finite, got {value}")
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.max_steps >= 0, "max_steps must be >= 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.grad_accum >= 1, "grad_accum must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (0 < self.scale_min <= self.scale_max, "need 0 < scale_min <= scale_max"),
            (0 <= self.flip_prob <= 1, "flip_prob must be in [0, 1]"),
            (
                bool(self.prompt_types) and set(self.prompt_types) <= set(PROMPT_TYPES),
                f"prompt_types must be a non-empty subset of {list(PROMPT_TYPES)}",
            ),
            (self.prompt_points >= 1, "prompt_points must be >= 1"),
            (self.loss_points >= 1, "loss_points must be >= 1"),
            (self.oversample_ratio >= 1, "oversample_ratio must be >= 1"),
            (0 <= self.importance_ratio <= 1, "importance_ratio must be in [0, 1]"),
            (self.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)}"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.num_workers >= -1, "num_workers must be >= 0 (or -1 = auto)"),
            (self.limit_train_samples >= 0, "limit_train_samples must be >= 0"),
            (self.val_limit >= 0, "val_limit must be >= 0"),
            (self.val_every >= 1, "val_every must be >= 1"),
            (self.log_every >= 1, "log_every must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"invalid training setting: {message}")

    @property
    def run_dir(self) -> Path:
        return Path(self.out)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "settings") -> TrainConfig:
        """Build from a mapping (a params.yaml ``train:`` section), rejecting unknown keys."""
        from hqseg.utils.params_yaml import unknown_keys

        problem = unknown_keys(values, _FIELD_NAMES, _UNKNOWN_WHAT)
        if problem:
            raise ConfigError(f"{source}: {problem}")
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        for name, value in values.items():
            if not _has_type(value, types[name]):
                raise ConfigError(
                    f"{source}: setting {name!r} must be {_TYPE_WORDS[types[name]]}, got {value!r}"
                )
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(TrainConfig))
_UNKNOWN_WHAT = "training setting(s)"
_TYPE_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "str | None": "a string or null",
    "list[str]": "a list of strings",
}


def _has_type(value: Any, annotation: str) -> bool:
    """Whether a params.yaml value fits a TrainConfig field's (string) annotation."""
    if annotation == "bool":
        return isinstance(value, bool)
    if annotation == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation == "str | None":
        return value is None or isinstance(value, str)
    if annotation == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def load_params(path: str | Path, section: str = "train") -> dict[str, Any]:
    """The ``section`` mapping of a params file, its keys checked against the settings.

    Raises:
        ParamsError: the one reader's errors (:mod:`hqseg.utils.params_yaml`).
    """
    from hqseg.utils.params_yaml import read_section

    return read_section(section, path, known=_FIELD_NAMES, what=_UNKNOWN_WHAT)
