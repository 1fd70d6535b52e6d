"""ThinObject-5K.

Original: ``ThinObject5K/{images,masks,list}``; ``list/{train,val,test}.txt`` lines
are mask file names, the image is ``images/<stem>.jpg``. Masks are alpha mattes.
Repack: ``ThinObject5K/{images,masks}_{train,test}`` (no val; ``_val`` is read if present).
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.schema import Pair, Reject
from hqseg.data.sources.base import (
    Source,
    image_files,
    read_list,
    require_dir,
    two_folder_pairs,
)


def listed_pairs(folder: Path, list_dir: Path, splits: tuple[str, ...]):
    """Pairs named by ``list_dir/<split>.txt`` (mask names) in ``folder/{images,masks}``.

    Shared with COIFT, which uses the same convention.
    """
    images = image_files(folder / "images")
    masks = image_files(folder / "masks")
    listed: set[str] = set()
    for split in splits:
        list_file = list_dir / f"{split}.txt"
        if not list_file.is_file():
            continue
        for line in read_list(list_file):
            stem = Path(line).stem
            listed.add(stem)
            if stem not in masks:
                yield Reject(
                    f"{list_file}:{line}", "list-entry-missing", f"{line} is not in masks/"
                )
            elif stem not in images:
                yield Reject(str(masks[stem]), "image-missing", f"no image for listed {line}")
            else:
                yield Pair(images[stem], masks[stem], split, stem)
    for stem in sorted(images.keys() - listed):
        yield Reject(str(images[stem]), "not-listed", "image named by no list file")


class ThinObject5K(Source):
    name = "thinobject5k"
    splits = ("train", "val", "test")
    mask_kind = "alpha"
    original_markers = ("ThinObject5K/list",)
    repack_markers = ("ThinObject5K/images_train", "ThinObject5K/images_test")

    def _original(self, root: Path):
        folder = require_dir(root, "ThinObject5K")
        yield from listed_pairs(folder, folder / "list", self.splits)

    def _repack(self, root: Path):
        folder = require_dir(root, "ThinObject5K")
        for split in self.splits:  # the repack ships train and test only
            images, masks = folder / f"images_{split}", folder / f"masks_{split}"
            if images.is_dir() and masks.is_dir():
                yield from two_folder_pairs(images, masks, split=split)
