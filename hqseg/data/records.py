"""Reading HQSeg-44K records back: the build folder through ``datasets``, decoded to arrays.

Training and evaluation both go through here, so they see the same pixels.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hqseg.errors import DatasetError


def _to_pil(value: Any) -> Image.Image:
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return Image.open(io.BytesIO(value["bytes"]))
        if value.get("path"):
            return Image.open(value["path"])
    if isinstance(value, bytes | bytearray):
        return Image.open(io.BytesIO(value))
    raise DatasetError(f"cannot decode image value of type {type(value).__name__}")


def decode_image(value: Any) -> np.ndarray:
    """Decode a record's ``image`` to an RGB array of shape (H, W, 3), uint8."""
    return np.asarray(_to_pil(value).convert("RGB"))


def decode_mask(value: Any) -> np.ndarray:
    """Decode a record's ``mask`` to a grey-level array of shape (H, W), uint8 (0..255)."""
    return np.asarray(_to_pil(value).convert("L"))


def load_split(folder: str | Path, config: str = "default", split: str = "train"):
    """Load one split of a ``hqseg build`` folder as a ``datasets.Dataset``.

    Raises:
        DatasetError: the folder, config or split does not exist, naming what does.
    """
    import datasets

    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise DatasetError(
            f"{folder} is not a hqseg build folder (no README.md card); run `hqseg build` first"
        )
    try:
        return datasets.load_dataset(str(folder), config, split=split)
    except ValueError as exc:  # unknown config or split
        raise DatasetError(
            f"{folder}: cannot load config {config!r} split {split!r}: {exc}"
        ) from exc
