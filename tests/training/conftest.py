"""A tiny ``hqseg build``-shaped folder made on the fly: synthetic objects with soft edges."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/default/train-*.parquet
- config_name: hq_eval
  data_files:
  - split: dis_vd
    path: data/hq_eval/dis_vd-*.parquet
---
# tiny synthetic HQSeg folder for tests
"""


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def synthetic_pair(rng: np.random.Generator, size: tuple[int, int] = (72, 96)):
    """(image (H, W, 3) uint8, mask (H, W) uint8): a bright ellipse + thin bar on dark noise."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    ry, rx = rng.uniform(0.15, 0.3) * h, rng.uniform(0.15, 0.3) * w
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    soft = np.clip((1.15 - inside) / 0.3, 0, 1)  # anti-aliased edge
    bar_x = int(rng.uniform(0.1, 0.9) * w)
    soft[int(cy) :, max(0, bar_x - 1) : bar_x + 1] = 1.0  # thin structure
    mask = (soft * 255).round().astype(np.uint8)
    colour = rng.uniform(150, 255, size=3)
    background = rng.uniform(0, 60, size=(h, w, 3))
    image = background * (1 - soft[..., None]) + colour * soft[..., None]
    return image.clip(0, 255).astype(np.uint8), mask


def _records(rng, n: int, source: str, split: str) -> dict[str, list]:
    cols: dict[str, list] = {
        k: []
        for k in ("id", "source", "split", "image", "mask", "width", "height", "category", "sha256")
    }
    for i in range(n):
        image, mask = synthetic_pair(rng)
        image_bytes = _png(image)
        cols["id"].append(f"{source}/{split}_{i:03d}")
        cols["source"].append(source)
        cols["split"].append(split)
        cols["image"].append({"bytes": image_bytes, "path": None})
        cols["mask"].append({"bytes": _png(mask), "path": None})
        cols["width"].append(image.shape[1])
        cols["height"].append(image.shape[0])
        cols["category"].append("")
        cols["sha256"].append(hashlib.sha256(image_bytes).hexdigest())
    return cols


def make_build_folder(folder: Path, *, n_train: int = 8, n_val: int = 3, seed: int = 0) -> Path:
    """Write a folder ``hqseg.data.records.load_split`` reads: default/train + hq_eval/dis_vd."""
    import datasets

    from hqseg.data.schema import features

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    for config, split, n, source in (
        ("default", "train", n_train, "synthetic"),
        ("hq_eval", "dis_vd", n_val, "dis5k"),
    ):
        out = folder / "data" / config / f"{split}-00000-of-00001.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        ds = datasets.Dataset.from_dict(_records(rng, n, source, split), features=features())
        ds.to_parquet(str(out))
    (folder / "README.md").write_text(CARD)
    return folder


@pytest.fixture(scope="module")
def build_folder(tmp_path_factory) -> Path:
    """A tiny build folder: 4 training images, 2 held-out dis_vd images."""
    return make_build_folder(tmp_path_factory.mktemp("build") / "hqseg44k", n_train=4, n_val=2)
