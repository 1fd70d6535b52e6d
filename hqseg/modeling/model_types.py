"""Every model type hqseg knows, and the line (architecture family) it belongs to.

This module imports nothing heavy (no torch), so the CLI can build its ``--model-type``
choices from it without loading a model. Lines:

* ``vit``     -- HQ-SAM on segment_anything's ViT (``vit_b``, ``vit_l``, ``vit_h``);
* ``tinyvit`` -- Light HQ-SAM on MobileSAM's TinyViT (``vit_tiny``);
* ``sam2``    -- HQ-SAM 2 on Meta's SAM 2.1 (``sam2.1_hiera_*``).

Each line is one :class:`~hqseg.modeling.lines.base.ModelLine` object (building, HQ
keys, checkpoints, ONNX, predictor); :func:`line_for` gives it, importing it (and
torch) only then.

``test_*`` types are small random-weight configurations for tests and the embedded
pipeline; they have no official checkpoints. ``tiny`` is the deprecated old name of
``test_vit`` and is still accepted, with a warning.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineInfo:
    """The torch-free facts of a line: its name in prose and the base model it extends."""

    title: str
    baseline: str


LINE_INFO: dict[str, LineInfo] = {
    "vit": LineInfo("HQ-SAM", "SAM"),
    "tinyvit": LineInfo("Light HQ-SAM", "MobileSAM"),
    "sam2": LineInfo("HQ-SAM 2", "SAM 2.1"),
}
"""Every line by name; its object is :data:`hqseg.modeling.lines.LINES` [name]."""

LINES = tuple(LINE_INFO)


@dataclass(frozen=True)
class ModelType:
    """One model type.

    name: the ``--model-type`` / ``train.model_type`` value.
    line: one of :data:`LINES`.
    hq_checkpoint: file name of the authors' HQ checkpoint (None for test configs).
    base_checkpoint: file name of the plain base model it starts from (SAM / MobileSAM /
      SAM 2.1), whose weights load with the HQ parameters freshly initialised.
    test: a small random-weight configuration (tests, embedded pipeline).
    """

    name: str
    line: str
    hq_checkpoint: str | None
    base_checkpoint: str | None
    test: bool = False

    @property
    def baseline(self) -> str:
        """The base model scored beside this one (same image encoder, its own decoder)."""
        return LINE_INFO[self.line].baseline


_ALL = (
    ModelType("vit_b", "vit", "sam_hq_vit_b.pth", "sam_vit_b_01ec64.pth"),
    ModelType("vit_l", "vit", "sam_hq_vit_l.pth", "sam_vit_l_0b3195.pth"),
    ModelType("vit_h", "vit", "sam_hq_vit_h.pth", "sam_vit_h_4b8939.pth"),
    ModelType("vit_tiny", "tinyvit", "sam_hq_vit_tiny.pth", "mobile_sam.pt"),
    ModelType("sam2.1_hiera_t", "sam2", "sam2.1_hq_hiera_tiny.pt", "sam2.1_hiera_tiny.pt"),
    ModelType("sam2.1_hiera_s", "sam2", "sam2.1_hq_hiera_small.pt", "sam2.1_hiera_small.pt"),
    ModelType(
        "sam2.1_hiera_b+", "sam2", "sam2.1_hq_hiera_base_plus.pt", "sam2.1_hiera_base_plus.pt"
    ),
    ModelType("sam2.1_hiera_l", "sam2", "sam2.1_hq_hiera_large.pt", "sam2.1_hiera_large.pt"),
    ModelType("test_vit", "vit", None, None, test=True),
    ModelType("test_tinyvit", "tinyvit", None, None, test=True),
    ModelType("test_hiera", "sam2", None, None, test=True),
)

MODEL_TYPES: dict[str, ModelType] = {m.name: m for m in _ALL}
"""All model types by name, official ones first."""

MODEL_TYPE_NAMES: tuple[str, ...] = tuple(MODEL_TYPES)

DEPRECATED_ALIASES: dict[str, str] = {"tiny": "test_vit"}
"""Old names still accepted (with a DeprecationWarning and a log line)."""

CLI_CHOICES: tuple[str, ...] = MODEL_TYPE_NAMES + tuple(DEPRECATED_ALIASES)
"""What ``--model-type`` accepts: every name plus the deprecated aliases."""

DEFAULT_MODEL_TYPE = "vit_l"
"""The model type of the official recipe (HQ-SAM-L), used where none is given."""


def resolve_model_type(name: str) -> str:
    """The canonical name of ``name``; a deprecated alias warns and maps to its new name.

    Raises:
      ValueError: unknown name (the message lists the known ones).
    """
    if name in DEPRECATED_ALIASES:
        new = DEPRECATED_ALIASES[name]
        message = f"model type {name!r} is deprecated; use {new!r}"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        log.warning(message)
        return new
    if name not in MODEL_TYPES:
        raise ValueError(f"unknown model type {name!r}; known: {', '.join(MODEL_TYPE_NAMES)}")
    return name


def line_of(name: str) -> str:
    """The line of model type ``name`` (aliases resolved)."""
    return MODEL_TYPES[resolve_model_type(name)].line


def line_for(name: str):
    """The :class:`~hqseg.modeling.lines.base.ModelLine` of model type ``name`` (aliases
    resolved; imports torch): :func:`hqseg.modeling.lines.line_for`."""
    # Imported by name: a stage that only reads model-type names must not depend on every
    # line's code (scripts/stage_deps.py follows static imports); the modules that build
    # or load models import hqseg.modeling.lines themselves.
    return importlib.import_module("hqseg.modeling.lines").line_for(name)


def types_of_line(line: str) -> tuple[str, ...]:
    """The model types of ``line``, official ones first."""
    return tuple(m.name for m in _ALL if m.line == line)
