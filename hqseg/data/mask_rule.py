"""THE mask rule: any decoded mask image -> 8-bit grey levels (:func:`mask_to_grey`).

Alpha mattes, 16-bit, palette, JPEG and object-id masks all go through this one
function, so every source's masks mean the same thing: grey > :data:`FOREGROUND` is
foreground.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from hqseg.data.pixels import pixels

#: Foreground is grey > FOREGROUND (the evaluation's ground-truth threshold, FACTS).
FOREGROUND = 128
#: JPEG masks: levels within this distance of 0 or 255 are compression noise.
JPEG_SNAP = 16


def mask_to_grey(img: Image.Image, mask_kind: str = "grey") -> np.ndarray:
    """THE mask rule: any decoded mask -> (H, W) uint8 grey levels, 0 = background.

    Applied in this order (EXIF orientation is applied before, by the caller):

    1. **Object ids** (``mask_kind="object_ids"``, e.g. HRSOD; also any palette
       image whose palette is not grey): every non-zero id (palette index) is
       foreground, 255; 0 is background.
    2. **16-bit / 32-bit** (``I;16``, ``I``, ``F``): values above 255 mean the full
       16-bit range, scaled by 255/65535; otherwise the values are grey levels.
    3. **Colour with alpha** (RGBA, LA, palette with transparency): when alpha varies
       it carries the matte. Constant colour (e.g. white everywhere, the usual export
       of matting tools) -> the alpha channel itself; varying colour -> the colour
       composited over black (``colour * alpha / 255``). Constant alpha is ignored.
    4. **Colour** (RGB, grey palette, CMYK...): the per-pixel maximum over channels
       (FSS-1000's 3-channel masks have equal channels).
    5. **Two levels**: a mask holding exactly two values, 0 and one other (``0/1``
       label maps, ``0/128``), is binary: the other value becomes 255.
    6. **JPEG** masks: levels within :data:`JPEG_SNAP` of 0 or 255 are snapped to
       0 / 255 (compression noise); levels between are kept (edges).

    Every other mask keeps its grey levels (anti-aliased edges, soft mattes). After
    this, a mask with no pixel above :data:`FOREGROUND` is rejected as
    ``empty-mask`` and one with every pixel above it as ``full-mask``.
    """
    if img.mode == "P" and mask_kind != "object_ids" and not _grey_palette(img):
        mask_kind = "object_ids"
    if mask_kind == "object_ids":
        if img.mode == "P":
            ids = np.asarray(img)  # palette indices
        elif img.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F", "1"):
            ids = np.asarray(img)
        else:
            ids = np.asarray(img.convert("RGB")).max(axis=2)
        return np.where(ids > 0, 255, 0).astype(np.uint8)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        grey = arr if arr.max() <= 255 else arr * (255.0 / 65535.0)
        grey = np.clip(grey.round(), 0, 255).astype(np.uint8)
    elif img.mode == "1":
        grey = np.asarray(img.convert("L"))
    elif img.mode == "L":
        grey = pixels(img)
    elif img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"))
        colour = rgba[..., :3].max(axis=2)
        alpha = rgba[..., 3]
        if alpha.min() == alpha.max():
            grey = colour
        elif colour.min() == colour.max():
            grey = alpha
        else:
            grey = (colour.astype(np.uint16) * alpha + 127) // 255
            grey = grey.astype(np.uint8)
    else:
        grey = np.asarray(img.convert("RGB")).max(axis=2)
    if _zero_and_one_level(grey):
        grey = np.where(grey > 0, 255, 0).astype(np.uint8)
    if img.format == "JPEG":
        grey = grey.copy()
        grey[grey < JPEG_SNAP] = 0
        grey[grey > 255 - JPEG_SNAP] = 255
    return grey


def _zero_and_one_level(grey: np.ndarray) -> bool:
    """True if ``grey`` holds exactly two values, 0 and one below 255 (rule 5).

    Min and max answer it for most masks (a 0..255 mask cannot qualify) without
    the histogram.
    """
    if grey.size == 0 or grey.min() != 0 or grey.max() in (0, 255):
        return False
    return len(grey_levels(grey)) == 2


def grey_levels(grey: np.ndarray) -> np.ndarray:
    """The distinct values of a uint8 array, ascending (int64).

    ``np.bincount`` would first widen every pixel to int64 (10x slower on a 2k mask);
    OpenCV's histogram counts uint8 directly. A count is never rounded to zero, so
    the set of levels is exact.
    """
    hist = cv2.calcHist([np.ascontiguousarray(grey)], [0], None, [256], [0, 256])
    return np.flatnonzero(hist.ravel())


def _grey_palette(img: Image.Image) -> bool:
    """True if every palette entry used by ``img`` has r == g == b."""
    palette = np.asarray(img.getpalette() or [], dtype=np.uint8).reshape(-1, 3)
    used = np.unique(np.asarray(img))
    used = used[used < len(palette)]
    entries = palette[used]
    return bool(len(entries) == 0 or (entries.min(axis=1) == entries.max(axis=1)).all())
