"""One comparable score from a record's signals, and the reasons in words.

Each raw signal (a float, higher = more suspicious; see :mod:`.signals`) is mapped to a
*suspicion* in [0, 1] by a fixed linear ramp ``clip((raw - low) / (high - low), 0, 1)``:
``low`` is about the 90th percentile of exact masks in the planted-error tests (noise of a
correct label), ``high`` the level where the label is plainly wrong. The score combines
the suspicions like independent pieces of evidence (noisy-OR)::

    score = 1 - prod_i (1 - weight_i * suspicion_i)

so it lies in [0, 1], one strong signal is enough, and weak agreeing signals add up. The
ramps are fixed, so a record's score depends on its own signals only (and, for the
``duplicate`` and model signals, on the other records of the same audit), and scores are
comparable across records, sources and runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ramp:
    """How one signal becomes a suspicion, and how it reads in a reason."""

    low: float
    high: float
    words: str  # formatted with the raw value as ``{v}``

    def suspicion(self, raw: float) -> float:
        if not np.isfinite(raw):
            return 0.0
        return float(np.clip((raw - self.low) / (self.high - self.low), 0.0, 1.0))


RAMPS: dict[str, Ramp] = {
    "contrast": Ramp(0.10, 0.45, "boundary runs through flat image on {v:.0%} of its length"),
    "offset": Ramp(0.06, 0.40, "image edges lie off the boundary ({v:.2f}: shifted, grown or "
                   "shrunk?)"),  # fmt: skip
    "coarse": Ramp(0.02, 0.25, "straight polygon-like runs across the object on {v:.0%} of "
                   "the boundary"),  # fmt: skip
    "border": Ramp(0.0, 1.0, "foreground covers most of the image frame (inverted mask?)"),
    "fragments": Ramp(0.0, 1.0, "small stray fragments ({v:.2f})"),
    "pieces": Ramp(0.3, 0.8, "a separate piece of the mask lies on flat image ({v:.0%} of its "
                   "boundary)"),  # fmt: skip
    "duplicate": Ramp(0.10, 0.50, "a near-duplicate image's mask disagrees (1-IoU {v:.2f})"),
    "model": Ramp(0.10, 0.60, "the model, prompted with the mask's box, disagrees "
                  "(1-IoU {v:.2f})"),  # fmt: skip
}
"""Ramp of every signal the audit may compute (image signals, ``duplicate``, ``model``)."""

REASON_AT = 0.3
"""A signal is named among a record's reasons when its suspicion reaches this."""
MAX_REASONS = 3


def combine(raw: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The score of one record from its raw signals (see the module doc); in [0, 1]."""
    keep = 1.0
    for name, value in raw.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        keep *= 1.0 - weight * RAMPS[name].suspicion(value)
    return float(1.0 - keep)


def reasons(raw: dict[str, float], weights: dict[str, float] | None = None) -> str:
    """The top reasons in words (strongest first, ``; ``-separated), or ``""``."""
    found = []
    for name, value in raw.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        strength = weight * RAMPS[name].suspicion(value)
        if strength >= REASON_AT:
            found.append((-strength, name, RAMPS[name].words.format(v=value)))
    return "; ".join(text for _, _, text in sorted(found)[:MAX_REASONS])


def ranks(scores: list[float]) -> list[int]:
    """1-based rank of each score, highest first; ties keep input order (deterministic)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    out = np.empty(len(order), dtype=int)
    out[order] = np.arange(1, len(order) + 1)
    return out.tolist()
