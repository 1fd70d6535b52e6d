"""FSS-1000: ``fewshot_data/fewshot_data/<class>/{n.jpg,n.png}`` (stray ``.jpeg`` kept).

Repack: ``fss_all`` flat, files ``<class>_<n>.{jpg,png}`` (class folders also accepted).
Stems are ``<class>/<n>`` (file names repeat across classes); category is the class.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.schema import Pair, Reject
from hqseg.data.sources.base import Source, is_junk, require_dir, same_folder_pairs


def class_folder_pairs(folder: Path):
    for cls in sorted(p for p in folder.iterdir() if p.is_dir() and not is_junk(p)):
        yield from same_folder_pairs(
            cls, split="train", stem_prefix=f"{cls.name}/", category=cls.name
        )


class FSS1000(Source):
    name = "fss1000"
    splits = ("train",)
    original_markers = ("fewshot_data",)
    repack_markers = ("fss_all",)

    def _original(self, root: Path):
        yield from class_folder_pairs(require_dir(root, "fewshot_data"))

    def _repack(self, root: Path):
        folder = require_dir(root, "fss_all")
        yield from class_folder_pairs(folder)
        for item in same_folder_pairs(folder, split="train"):
            if isinstance(item, Pair):
                cls, sep, n = item.stem.rpartition("_")
                if not sep:
                    yield Reject(str(item.image), "unknown-class", "expected <class>_<n> names")
                    continue
                yield Pair(item.image, item.mask, "train", f"{cls}/{n}", cls)
            else:
                yield item
