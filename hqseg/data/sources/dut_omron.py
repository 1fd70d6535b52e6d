"""DUT-OMRON: ``DUT-OMRON-image/*.jpg`` (often nested twice, with ``__MACOSX`` junk)
and ``DUT-OMRON-gt-pixelwise.zip/pixelwiseGT-new-PNG/*.png`` from the archive
``DUT-OMRON-gt-pixelwise.zip.zip`` (a folder named ``*.zip`` inside). No repack.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.sources.base import Source, require_dir, two_folder_pairs


class DUTOMRON(Source):
    name = "dut_omron"
    splits = ("train",)
    original_markers = ("DUT-OMRON-image", "pixelwiseGT-new-PNG")

    def _original(self, root: Path):
        images = require_dir(root, "DUT-OMRON-image")
        masks = require_dir(root, "pixelwiseGT-new-PNG")
        yield from two_folder_pairs(images, masks, split="train")

    def _repack(self, root: Path):  # pragma: no cover - never detected
        return ()
