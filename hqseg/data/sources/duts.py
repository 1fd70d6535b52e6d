"""DUTS: ``DUTS-TR/DUTS-TR-{Image,Mask}`` (train) and ``DUTS-TE/DUTS-TE-{Image,Mask}`` (test).

Repack: ``DUTS-TR`` and ``DUTS-TE`` flat (``stem.jpg`` + ``stem.png``). Three real
DUTS-TR pairs have image/mask size mismatches; that is a pixel check, done later.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, find_dir, same_folder_pairs, two_folder_pairs

PARTS = {"DUTS-TR": "train", "DUTS-TE": "test"}


class DUTS(Source):
    name = "duts"
    splits = ("train", "test")
    original_markers = ("DUTS-TR-Image", "DUTS-TE-Image")
    repack_markers = tuple(PARTS)

    def _original(self, root: Path):
        for part, split in PARTS.items():
            images, masks = find_dir(root, f"{part}-Image"), find_dir(root, f"{part}-Mask")
            if images is not None and masks is not None:
                yield from two_folder_pairs(images, masks, split=split)

    def _repack(self, root: Path):
        for part, split in PARTS.items():
            folder = find_dir(root, part)
            if folder is not None:
                yield from same_folder_pairs(folder, split=split)
