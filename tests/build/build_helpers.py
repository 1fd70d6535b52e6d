"""Small image/mask files for the build tests, made with PIL (deterministic)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def photo(seed: int, size=(40, 30)) -> np.ndarray:
    """A textured RGB array (H, W, 3) uint8; distinct seeds give unrelated images."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BILINEAR))
    noise = rng.integers(-10, 10, (h, w, 3))
    return np.clip(base.astype(int) + noise, 0, 255).astype(np.uint8)


def blob(size=(40, 30), grey: int = 255) -> np.ndarray:
    """An (H, W) uint8 mask with a rectangle of value ``grey`` and a soft edge."""
    w, h = size
    m = np.zeros((h, w), np.uint8)
    m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = grey
    m[h // 4 - 1, w // 4 : 3 * w // 4] = 128
    return m


def save(arr: np.ndarray, path: Path, fmt: str | None = None, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt, **kw)
    return path


def jpeg_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def ecssd_raw(root: Path, n: int, *, seed0: int = 0) -> Path:
    """``root/ecssd`` in the original layout: images/NNNN.jpg + ground_truth_mask/NNNN.png."""
    src = root / "ecssd"
    for i in range(n):
        save(photo(seed0 + i), src / "images" / f"{i:04d}.jpg", quality=90)
        save(blob(), src / "ground_truth_mask" / f"{i:04d}.png")
    return src
