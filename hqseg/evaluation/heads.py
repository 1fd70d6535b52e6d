"""What one evaluation run writes: its heads (decoder x mask type) and their output units.

A run has one encoder and one or more decoders (checkpoints that share the encoder,
:mod:`.shared_encoder`). A :class:`Head` is one scored output: a decoder, a mask type and
the unit (output folder under ``--out``) its results go to. A single-checkpoint run has
the heads ``("", 0, "hq")`` and ``("", 0, "sam")``: everything in ``--out`` itself, as
always. With K checkpoints, checkpoint k's HQ output goes to ``--out/<its unit>`` and the
SAM baseline, decoded once by the first checkpoint, to ``--out/sam``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hqseg.evaluation.predict import MODEL_NAMES

BASELINE_UNIT = "sam"
"""Unit of the SAM baseline in a run with several checkpoints."""


@dataclass(frozen=True)
class Head:
    """One scored output of a run.

    Attributes:
        unit: output folder relative to ``--out`` (``""`` = ``--out`` itself).
        decoder: index of the decoder (checkpoint) in the run, 0 = the first.
        mask_type: ``"hq"``, ``"sam"`` or ``"sum"`` (:data:`.predict.MASK_TYPES`).
    """

    unit: str
    decoder: int
    mask_type: str

    @property
    def model(self) -> str:
        """The model label of its rows and files (``"hq_sam"`` or ``"sam"``)."""
        return MODEL_NAMES[self.mask_type]


def single_heads(mask_types: Sequence[str]) -> tuple[Head, ...]:
    """The heads of a single-checkpoint run: every mask type of decoder 0 into ``--out``."""
    return tuple(Head("", 0, t) for t in mask_types)


def multi_heads(
    units: Sequence[str], hq_types: Sequence[str], baseline: Sequence[str]
) -> tuple[Head, ...]:
    """Heads of a run over ``len(units)`` checkpoints: ``hq_types`` of checkpoint k into
    ``units[k]``; the ``baseline`` mask types (``("sam",)`` or none) of checkpoint 0 into
    :data:`BASELINE_UNIT`. A single unit gives :func:`single_heads` (the usual layout)."""
    if len(units) == 1:
        return single_heads((*hq_types, *baseline))
    heads = [Head(unit, k, t) for k, unit in enumerate(units) for t in hq_types]
    return (*heads, *(Head(BASELINE_UNIT, 0, t) for t in baseline))


def units_of(heads: Sequence[Head]) -> list[str]:
    """The distinct units of ``heads``, in order."""
    return list(dict.fromkeys(h.unit for h in heads))
