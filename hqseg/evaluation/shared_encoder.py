"""Several checkpoints in one evaluation run, sharing one image encoder.

HQ-SAM freezes SAM's image encoder, so checkpoints trained from one SAM have identical
encoder weights. :class:`Checkpoints` holds their predictors after checking that (the
encoding cache's digest, :func:`hqseg.evaluation.encodings.encoder_digest`: the encoder's
state and every other tensor the encoding depends on) and makes them share the first
one's encoder module (memory for one encoder). A run then encodes each
image once and decodes it with every checkpoint's decoder. Checkpoints whose encoders
differ are refused with one line (run them separately): encoding twice would be two runs.

Output units: checkpoint k's results go to ``--out/<file stem>`` (:func:`checkpoint_units`:
unique, inside ``--out``, not the baseline's ``sam``); the SAM baseline to ``--out/sam``,
once: the checkpoints must then have one SAM decoder (:func:`baseline_digest`), as
checkpoints trained from one SAM do (training freezes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError
from hqseg.evaluation.heads import BASELINE_UNIT, Head, multi_heads, single_heads


def _model(predictor: Any) -> Any:
    return getattr(predictor, "model", predictor)


def baseline_digest(predictor: Any) -> str:
    """sha256 (hex) of what the SAM baseline decodes with: the model's state dict less the
    image encoder and the HQ parameters (SAM's prompt encoder and mask decoder)."""
    from hqseg.evaluation.encodings import tensors_digest

    model = _model(predictor)
    hq = set(model.hq_parameter_names())
    return tensors_digest((k, v) for k, v in model.state_dict().items()
                          if not k.startswith("image_encoder.") and k not in hq)  # fmt: skip


def checkpoint_units(paths: Sequence[str | Path], out_dir: str | Path) -> list[str]:
    """One output folder name per checkpoint: its file stem, checked to be unique, not
    the baseline's ``sam`` and a plain name that stays inside ``out_dir``.

    Raises:
        HqsegError: two checkpoints with one stem, or a stem that cannot be a folder.
    """
    out = Path(out_dir).resolve()
    units = [Path(p).stem for p in paths]
    for path, unit in zip(paths, units, strict=True):
        if unit in ("", BASELINE_UNIT) or unit.startswith(".") or (out / unit).parent != out:
            raise HqsegError(
                f"--checkpoint {path}: its file stem {unit!r} cannot name an output folder "
                f"under --out ({BASELINE_UNIT!r} holds the SAM baseline); rename the file"
            )
    twice = sorted({u for u in units if units.count(u) > 1})
    if twice:
        raise HqsegError(f"--checkpoint: several files share the stem(s) {twice}; rename them")
    return units


class Checkpoints:
    """Predictors of the checkpoints of one run and their output units.

    Args:
        predictors: one per checkpoint; those after the first are made to share its
            image encoder (:meth:`add` checks the digests).
        units: output folder of each (``[""]`` for a single checkpoint = ``--out``).
    """

    def __init__(self, predictors: Sequence[Any], units: Sequence[str]) -> None:
        if len(predictors) != len(units) or not predictors:
            raise ValueError("one unit per predictor, at least one")
        self.predictors, self.units = [predictors[0]], [units[0]]
        self.digest: str | None = None  # the first encoder's, computed by the first add()
        for predictor, unit in zip(predictors[1:], units[1:], strict=True):
            self.add(predictor, unit)

    def add(self, predictor: Any, unit: str, label: str | None = None) -> None:
        """Append a checkpoint after checking its encoder equals the first one's; its
        model then uses the first model's encoder module (its own is released).

        Raises:
            HqsegError: the encoders differ.
        """
        from hqseg.evaluation.encodings import encoder_digest  # torch: not at import

        if self.digest is None:
            self.digest = encoder_digest(self.predictors[0])
        digest = encoder_digest(predictor)
        if digest != self.digest:
            raise HqsegError(
                f"{label or unit}: its image encoder differs from the first checkpoint's "
                f"(sha256 {digest[:12]} vs {self.digest[:12]}); checkpoints in one run must "
                "share SAM's frozen encoder; evaluate it in a separate run"
            )
        _model(predictor).image_encoder = _model(self.predictors[0]).image_encoder
        self.predictors.append(predictor)
        self.units.append(unit)

    def protocol(self, name: str | None = None, *, encodings=None, amp=None):
        """The HQ protocol ``name`` (None = the authors' ``"square"``) with every
        checkpoint as a decoder; the first one encodes (through ``encodings``, an
        encoding cache, and under ``amp``, an autocast dtype for the encoder alone)."""
        from hqseg.evaluation.hq import resolve_protocol

        first = resolve_protocol(self.predictors[0], name)
        decoders = [first.model, *self.predictors[1:]]
        return type(first)(first.model, decoders=decoders, encodings=encodings, amp=amp)

    def heads(self, mask_types: Sequence[str]) -> tuple[Head, ...]:
        """The run's heads: ``mask_types`` as given for one checkpoint; with several, each
        checkpoint's non-``"sam"`` types into its unit and ``"sam"`` once, into ``sam``.

        Raises:
            HqsegError: ``"sam"`` asked for with checkpoints whose SAM decoders differ (the
                baseline would be whichever came first; :func:`baseline_digest`).
        """
        if len(self.units) == 1:
            return single_heads(mask_types)
        hq_types = [t for t in mask_types if t != "sam"]
        if "sam" in mask_types:
            self._check_one_baseline()
        return multi_heads(self.units, hq_types, ["sam"] if "sam" in mask_types else [])

    def _check_one_baseline(self) -> None:
        first = baseline_digest(self.predictors[0])
        for predictor, unit in zip(self.predictors[1:], self.units[1:], strict=True):
            digest = baseline_digest(predictor)
            if digest != first:
                raise HqsegError(
                    f"{unit}: its SAM prompt encoder and decoder differ from the first "
                    f"checkpoint's (sha256 {digest[:12]} vs {first[:12]}), so the run has no "
                    f"one SAM baseline for {BASELINE_UNIT!r}; leave the baseline out "
                    "(eval hq --no-sam) or evaluate it in a separate run"
                )
