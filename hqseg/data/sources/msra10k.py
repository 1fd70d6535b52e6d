"""MSRA10K: ``MSRA10K_Imgs_GT/Imgs/<id>.jpg`` and ``<id>.png`` in the same folder.

Repack: ``MSRA_10K`` flat, same convention.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, require_dir, same_folder_pairs


class MSRA10K(Source):
    name = "msra10k"
    splits = ("train",)
    original_markers = ("MSRA10K_Imgs_GT",)
    repack_markers = ("MSRA_10K",)

    def _original(self, root: Path):
        folder = require_dir(root, "MSRA10K_Imgs_GT")
        imgs = folder / "Imgs"
        yield from same_folder_pairs(imgs if imgs.is_dir() else folder, split="train")

    def _repack(self, root: Path):
        yield from same_folder_pairs(require_dir(root, "MSRA_10K"), split="train")
