"""ECSSD: two archives, ``images/0001.jpg`` and ``ground_truth_mask/0001.png``.

Repack: ``ecssd`` flat (``stem.jpg`` + ``stem.png``).
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, require_dir, same_folder_pairs, two_folder_pairs


class ECSSD(Source):
    name = "ecssd"
    splits = ("train",)
    original_markers = ("ground_truth_mask",)
    repack_markers = ("ecssd",)

    def _original(self, root: Path):
        images = require_dir(root, "images")
        masks = require_dir(root, "ground_truth_mask")
        yield from two_folder_pairs(images, masks, split="train")

    def _repack(self, root: Path):
        yield from same_folder_pairs(require_dir(root, "ecssd"), split="train")
