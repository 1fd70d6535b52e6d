"""DIS5K: ``DIS5K/DIS-{TR,VD,TE1..4}/{im,gt}``, same stem; the repack keeps this layout."""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, find_dir, two_folder_pairs

SPLIT_FOLDERS = {
    "DIS-TR": "train",
    "DIS-VD": "val",
    "DIS-TE1": "te1",
    "DIS-TE2": "te2",
    "DIS-TE3": "te3",
    "DIS-TE4": "te4",
}


class DIS5K(Source):
    name = "dis5k"
    splits = tuple(SPLIT_FOLDERS.values())
    original_markers = tuple(SPLIT_FOLDERS)

    def _original(self, root: Path):
        for folder_name, split in SPLIT_FOLDERS.items():
            folder = find_dir(root, folder_name)
            if folder is None:
                continue
            yield from two_folder_pairs(folder / "im", folder / "gt", split=split)

    _repack = _original
