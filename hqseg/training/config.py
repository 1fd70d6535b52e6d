"""Every training setting in one place: the official recipe as defaults (FACTS §3).

Each field has a ``params.yaml`` counterpart under ``train:`` and a ``hqseg train``
option of the same name (underscores become dashes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError
from hqseg.training.prompts import PROMPT_TYPES


class ConfigError(HqsegError):
    """A training setting is unknown or out of range."""


@dataclass
class TrainConfig:
    """Training settings. Defaults are the official HQ-SAM recipe."""

    # data
    data: str = "data/hqseg44k"  # hqseg build folder
    train_config: str = "default"
    train_split: str = "train"
    limit_train_samples: int = 0  # 0 = all
    val_config: str = "hq_eval"
    val_splits: list[str] = field(default_factory=lambda: ["dis_vd"])
    val_limit: int = 0  # images per validation split, 0 = all
    validate: bool = True  # held-out mIoU / mBIoU at every epoch end (and before training)
    # model
    model_type: str = "vit_l"
    checkpoint: str | None = None  # SAM or sam_hq_*.pth; None = random init (tests only)
    # optimisation
    epochs: int = 12
    max_steps: int = 0  # stop after this many optimiser steps, 0 = no limit
    batch_size: int = 4  # per process
    grad_accum: int = 1
    lr: float = 1e-3
    lr_drop_epoch: int = 10
    lr_gamma: float = 0.1
    # augmentation and prompts
    flip_prob: float = 0.5
    scale_min: float = 0.1
    scale_max: float = 2.0
    prompt_types: list[str] = field(default_factory=lambda: list(PROMPT_TYPES))
    prompt_points: int = 10
    box_noise_scale: float = 0.0
    # loss
    loss_points: int = 12544
    oversample_ratio: float = 3.0
    importance_ratio: float = 0.75
    # run
    out: str = "runs/hq_sam"
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: str = "none"  # none | bf16
    compile: bool = False
    num_workers: int = 0
    checkpoint_every: int = 0  # optimiser steps between checkpoints, 0 = epoch ends only
    log_every: int = 1

    def __post_init__(self) -> None:
        self.validate_values()

    def validate_values(self) -> None:
        """Raise :class:`ConfigError` naming the first bad setting."""
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
            (self.amp in ("none", "bf16"), "amp must be 'none' or 'bf16'"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.num_workers >= 0, "num_workers must be >= 0"),
            (self.limit_train_samples >= 0, "limit_train_samples must be >= 0"),
            (self.val_limit >= 0, "val_limit must be >= 0"),
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
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"{source}: unknown training setting(s) {unknown}; known: {sorted(names)}"
            )
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc


def load_params(path: str | Path, section: str = "train") -> dict[str, Any]:
    """The ``section`` mapping of a params.yaml file ({} when the section is absent)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    values = doc.get(section, {}) if isinstance(doc, dict) else None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: section {section!r} must be a mapping")
    return values
