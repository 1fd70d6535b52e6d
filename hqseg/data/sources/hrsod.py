"""HRSOD (thin-object-selection subset): ``HRSOD/{images,masks}``, all ``test``.

Original masks hold object ids (1, 2, ...; nonzero is foreground), hence
``mask_kind = "object_ids"``; the repack's ``masks_max255`` are already 0/255, for
which the same nonzero rule is right. Some images need EXIF orientation applied
(a pixel-level fix, done in normalisation).
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, require_dir, two_folder_pairs


class HRSOD(Source):
    name = "hrsod"
    splits = ("test",)
    mask_kind = "object_ids"
    original_markers = ("HRSOD/masks",)
    repack_markers = ("HRSOD/masks_max255",)

    def _original(self, root: Path):
        folder = require_dir(root, "HRSOD")
        yield from two_folder_pairs(folder / "images", folder / "masks", split="test")

    def _repack(self, root: Path):
        folder = require_dir(root, "HRSOD")
        yield from two_folder_pairs(folder / "images", folder / "masks_max255", split="test")
