"""COIFT: ``COIFT/{images,masks}`` and ``COIFT/list/test.txt`` (mask names).

Repack: ``COIFT/{images,masks}`` without the list; everything is ``test``.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, require_dir, two_folder_pairs
from hqseg.data.sources.thinobject5k import listed_pairs


class COIFT(Source):
    name = "coift"
    splits = ("test",)
    original_markers = ("COIFT/list",)
    repack_markers = ("COIFT/masks",)

    def _original(self, root: Path):
        folder = require_dir(root, "COIFT")
        yield from listed_pairs(folder, folder / "list", self.splits)

    def _repack(self, root: Path):
        folder = require_dir(root, "COIFT")
        yield from two_folder_pairs(folder / "images", folder / "masks", split="test")
