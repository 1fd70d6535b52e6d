"""The one interface of a source adapter, public (:mod:`hqseg.data.sources`) or the
user's own (:mod:`hqseg.data.custom`: ``folder:``, ``coco:``, ``hf:``).

Normalisation reads any source through it alone, so rejects, deduplication and leak
checks are the same code for both kinds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from hqseg.data.schema import Pair, Reject


@runtime_checkable
class SourceAdapter(Protocol):
    """One source's raw files as pairs.

    Attributes:
        name: the source name; record ids are ``<name>/<stem>``.
        splits: its splits in their natural order (train, val, tests).
        mask_kind: how its mask files read: ``"binary"``, ``"alpha"``, ``"grey"`` (grey
            levels kept) or ``"object_ids"`` (nonzero is foreground).
        licence: its terms, as the card and ``LICENSE.md`` state them (the card's YAML
            key stays ``license``, as the Hub requires).
    """

    name: str
    splits: tuple[str, ...]

    @property
    def mask_kind(self) -> str: ...

    @property
    def licence(self) -> str: ...

    def iter_pairs(self, root: Path) -> Iterator[Pair | Reject]:
        """Pairs and listing-level rejects found under ``root``, in a deterministic
        order (sorted by split and stem, then rejects by path)."""
        ...
