"""Generators of small custom datasets (64 px) in the three kinds, with known truths."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import photo, save  # noqa: E402

SIZE = (64, 48)  # (W, H)


def square(x0: int, y0: int, x1: int, y1: int, value: int = 255, size=SIZE) -> np.ndarray:
    m = np.zeros((size[1], size[0]), np.uint8)
    m[y0:y1, x0:x1] = value
    return m


def folder_dataset(root: Path, *, seed0: int = 100) -> dict:
    """``root/{train,val}/{images,masks}`` with ``_mask`` suffixes and 0/1 masks, plus one
    image without mask and one mask without image in train. Returns the truth."""
    for split, n in (("train", 4), ("val", 2)):
        for i in range(n):
            seed = seed0 + (0 if split == "train" else 50) + i
            save(photo(seed, SIZE), root / split / "images" / f"{split}{i}.jpg", quality=92)
            save(
                square(8 + i, 6, 40, 30 + i, value=1),
                root / split / "masks" / f"{split}{i}_mask.png",
            )
    save(photo(seed0 + 90, SIZE), root / "train" / "images" / "lonely.jpg", quality=92)
    save(square(2, 2, 20, 20), root / "train" / "masks" / "orphan_mask.png")
    return {"records": {"train": 4, "val": 2}, "rejects": {"mask-missing": 1, "image-missing": 1}}


def instance_folder(root: Path, *, seed0: int = 300) -> dict:
    """Flat ``root/images`` + ``root/masks`` with instance ids 1 and 2 (and one empty mask)."""
    for i in range(2):
        save(photo(seed0 + i, SIZE), root / "images" / f"im{i}.png")
        m = square(4, 4, 20, 20, value=1) + square(30, 20, 60, 44, value=2)
        save(m, root / "masks" / f"im{i}.png")
    save(photo(seed0 + 9, SIZE), root / "images" / "blank.png")
    save(np.zeros((SIZE[1], SIZE[0]), np.uint8), root / "masks" / "blank.png")
    return {"records": {"train": 4}, "rejects": {"empty-mask": 1}}


def _rle(mask: np.ndarray, compressed: bool) -> dict:
    from pycocotools import mask as mask_utils

    if compressed:
        rle = mask_utils.encode(np.asfortranarray(mask))
        return {"size": rle["size"], "counts": rle["counts"].decode()}
    flat = mask.flatten(order="F")  # column-major runs, starting with zeros
    counts, value, run = [], 0, 0
    for v in flat:
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def coco_dataset(root: Path, *, seed0: int = 500) -> dict:
    """``root/annotations.json`` + ``root/images``: polygon, RLE and uncompressed RLE
    instances, and one of each bad kind. Returns the truth."""
    w, h = SIZE
    images = []
    for i in range(3):
        save(photo(seed0 + i, SIZE), root / "images" / f"img{i}.jpg", quality=92)
        images.append({"id": i + 1, "file_name": f"img{i}.jpg", "width": w, "height": h})
    images.append({"id": 4, "file_name": "gone.jpg", "width": w, "height": h})
    save(photo(seed0 + 7, (w + 8, h)), root / "images" / "wide.jpg", quality=92)
    images.append({"id": 5, "file_name": "wide.jpg", "width": w, "height": h})
    poly = [[6, 6, 40, 6, 40, 30, 6, 30]]
    anns = [
        {"id": 1, "image_id": 1, "segmentation": poly, "iscrowd": 0, "bbox": [6, 6, 34, 24]},
        {"id": 2, "image_id": 2, "segmentation": _rle(square(10, 10, 50, 40), True), "iscrowd": 0},
        {
            "id": 3,
            "image_id": 3,
            "segmentation": _rle(square(5, 20, 30, 45, 1), False),
            "iscrowd": 0,
        },
        {
            "id": 4,
            "image_id": 1,
            "segmentation": _rle(square(0, 0, 64, 10, 1), False),
            "iscrowd": 1,
        },
        {"id": 5, "image_id": 2, "segmentation": [[10, 10, 20, 20]], "iscrowd": 0},
        {"id": 6, "image_id": 3, "segmentation": [[50, 5, 90, 5, 90, 30]], "iscrowd": 0},
        {"id": 7, "image_id": 1, "segmentation": [[1, 2, 3, 4, 5, 6, 7]], "iscrowd": 0},
        {"id": 8, "image_id": 99, "segmentation": poly, "iscrowd": 0},
        {"id": 9, "image_id": 4, "segmentation": poly, "iscrowd": 0},
        {"id": 1, "image_id": 3, "segmentation": poly, "iscrowd": 0},
        {"id": 10, "image_id": 5, "segmentation": poly, "iscrowd": 0},
        {"id": 11, "image_id": 2, "segmentation": [[1, 1, 3, 1, 3, 3, 1, 3]], "iscrowd": 0},
    ]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "thing"}]}))  # fmt: skip
    return {
        "records": {"train": 3},
        "ids": {"img0/1", "img1/2", "img2/3"},
        "rejects": {
            "crowd": 1,
            "degenerate": 1,
            "out-of-image": 1,
            "bad-polygon": 1,
            "unknown-image": 1,
            "image-missing": 1,
            "duplicate-id": 1,
            "size-mismatch": 1,
            "too-small": 1,
        },  # fmt: skip
    }


def hf_dataset(root: Path, *, seed0: int = 700) -> dict:
    """A ``DatasetDict`` (train 3, validation 2) saved with ``save_to_disk``; grey mattes."""
    import datasets

    def split(n: int, base: int) -> datasets.Dataset:
        rows = {"image": [], "label": [], "name": []}
        for i in range(n):
            rows["image"].append(Image.fromarray(photo(seed0 + base + i, SIZE)))
            m = square(10, 8, 50, 40, 200)
            m[8, 10:50] = 90  # a soft edge: kept as grey
            rows["label"].append(Image.fromarray(m))
            rows["name"].append(f"pic{base + i}.jpg")
        feats = datasets.Features({"image": datasets.Image(), "label": datasets.Image(),
                                   "name": datasets.Value("string")})  # fmt: skip
        return datasets.Dataset.from_dict(rows, features=feats)

    datasets.DatasetDict({"train": split(3, 0), "validation": split(2, 10)}).save_to_disk(str(root))
    return {"records": {"train": 3, "validation": 2}, "rejects": {}}
