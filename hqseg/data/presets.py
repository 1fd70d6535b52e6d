"""The compositions of HQSeg-44K that ``hqseg build --preset`` knows.

FACTS §1: the paper names DUT-OMRON, the released code and repack use DUTS-TR and
DUTS-TE instead. ``official`` follows the release (44,320 training pairs on the
real data), ``paper`` the text (about 33,916).

Splits in a preset's ``train`` make the ``default`` config's ``train`` split; every
other split of the preset's sources is evaluation data and is never dropped by
deduplication. :data:`HQ_EVAL` names the four HQ evaluation sets of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hqseg.errors import DatasetError

#: ``hq_eval`` config: split name -> (source, source split).
HQ_EVAL: dict[str, tuple[str, str]] = {
    "dis_vd": ("dis5k", "val"),
    "coift": ("coift", "test"),
    "hrsod": ("hrsod", "test"),
    "thin": ("thinobject5k", "test"),
}

_COMMON_TRAIN = (
    ("dis5k", "train"),
    ("thinobject5k", "train"),
    ("fss1000", "train"),
    ("ecssd", "train"),
    ("msra10k", "train"),
)
_EVAL_ONLY = ("coift", "hrsod")


@dataclass(frozen=True)
class Preset:
    """One composition.

    Attributes:
        name: preset name.
        description: one line for the card.
        train: (source, split) pairs forming ``default/train``, in priority order
            (deduplication keeps the record of the earliest source).
        sources: every source the build includes (training and evaluation).
    """

    name: str
    description: str
    train: tuple[tuple[str, str], ...]
    eval_only: tuple[str, ...] = _EVAL_ONLY

    @property
    def sources(self) -> tuple[str, ...]:
        names = dict.fromkeys(source for source, _ in self.train)
        names.update(dict.fromkeys(self.eval_only))
        return tuple(names)

    def with_train(self, extra: list[tuple[str, str]]) -> Preset:
        """This preset with ``extra`` (source, split) pairs appended to ``train`` (last
        in priority: deduplication keeps the preset's records first)."""
        return replace(self, train=self.train + tuple(extra)) if extra else self

    def is_train(self, source: str, split: str) -> bool:
        """True if ``source/split`` is part of the training composition."""
        return (source, split) in self.train

    def source_rank(self, source: str) -> int:
        """Position of ``source`` in :attr:`sources` (dedup tie-break)."""
        return self.sources.index(source) if source in self.sources else len(self.sources)


PRESETS: dict[str, Preset] = {
    "official": Preset(
        "official",
        "the released HQSeg-44K: DUTS-TR and DUTS-TE as in the authors' code and repack",
        _COMMON_TRAIN + (("duts", "train"), ("duts", "test")),
    ),
    "paper": Preset(
        "paper",
        "as the HQ-SAM paper states it: DUT-OMRON instead of DUTS",
        _COMMON_TRAIN + (("dut_omron", "train"),),
    ),
    "none": Preset("none", "only the sources added with --add (custom data)", (), ()),
}


def get_preset(name: str) -> Preset:
    """The preset ``name``; a clear error naming the known presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise DatasetError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
