"""The registry of source adapters: :func:`get_source` and :func:`source_names`.

Each adapter module knows one source's raw layouts (see :mod:`.base`); metadata
(licence, citation, archives) comes from :mod:`hqseg.data.catalog`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hqseg.data.catalog import resolve_name
from hqseg.data.schema import Pair
from hqseg.data.sources.base import Source
from hqseg.data.sources.coift import COIFT
from hqseg.data.sources.dis5k import DIS5K
from hqseg.data.sources.dut_omron import DUTOMRON
from hqseg.data.sources.duts import DUTS
from hqseg.data.sources.ecssd import ECSSD
from hqseg.data.sources.fss1000 import FSS1000
from hqseg.data.sources.hrsod import HRSOD
from hqseg.data.sources.msra10k import MSRA10K
from hqseg.data.sources.thinobject5k import ThinObject5K

_REGISTRY: dict[str, type[Source]] = {
    cls.name: cls
    for cls in (DIS5K, ThinObject5K, FSS1000, ECSSD, MSRA10K, DUTS, DUTOMRON, COIFT, HRSOD)
}

__all__ = ["Source", "count_pairs", "get_source", "source_names"]


def source_names() -> list[str]:
    """Registered source names, in catalog order."""
    return list(_REGISTRY)


def get_source(name: str) -> Source:
    """The adapter for ``name`` (the alias ``dis_vd`` gives ``dis5k``).

    Raises:
        HqsegError: unknown name, listing the known ones.
    """
    return _REGISTRY[resolve_name(name)[0]]()


def count_pairs(name: str, root: str | Path) -> tuple[dict[str, int], dict[str, int]]:
    """Pairs per split and layout-level rejects per reason that ``name``'s adapter finds
    under ``root`` (an extracted raw folder)."""
    pairs: Counter[str] = Counter()
    rejects: Counter[str] = Counter()
    for item in get_source(name).iter_pairs(Path(root)):
        if isinstance(item, Pair):
            pairs[item.split] += 1
        else:
            rejects[item.reason] += 1
    return dict(sorted(pairs.items())), dict(sorted(rejects.items()))
