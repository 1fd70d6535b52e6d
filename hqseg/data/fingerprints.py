"""Image fingerprints for duplicate detection: a perceptual hash and a pixel digest.

* :func:`perceptual_hash`: 64 bits that stay close (Hamming distance) when an image
  is resized or re-encoded, computed during normalisation from the decoded pixels;
* :func:`pixel_digest`: equal iff the decoded RGB pixels (and size) are equal,
  computed only for the few records whose perceptual hashes collide
  (:func:`hqseg.data.dedup.exact_keys`).
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from PIL import Image

from hqseg.data.pixels import pixels

#: The perceptual hash's thumbnail is HASH_GRID x HASH_GRID cells.
HASH_GRID = 32
#: ITU-R BT.601 luma weights of R, G, B.
LUMA = (0.299, 0.587, 0.114)
#: Rows k < 8 of the unnormalised DCT-II over 32 samples (SciPy's ``dct`` convention):
#: ``y[k] = 2 * sum_n x[n] * cos(pi * k * (2n + 1) / 64)``; only the 8 x 8 lowest
#: frequencies are hashed, so two small products replace two full transforms.
_DCT_LOW = 2.0 * np.cos(
    np.pi * np.arange(8)[:, None] * (2 * np.arange(HASH_GRID)[None, :] + 1) / (2 * HASH_GRID)
)


def _cells(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and end (exclusive) index of each of the :data:`HASH_GRID` cells over n pixels.

    Cell i starts at ``floor(i * n / 32)`` and ends where the next starts; when n < 32
    a cell is the one pixel it starts at.
    """
    edges = (np.arange(HASH_GRID + 1) * n) // HASH_GRID
    first = edges[:-1]
    return first, np.maximum(edges[1:], first + 1)


def grey_thumbnail(img: Image.Image) -> np.ndarray:
    """(32, 32) float64: the luma (:data:`LUMA`) of the mean RGB of each grid cell.

    The image is cut into a 32 x 32 grid of near-equal cells (:func:`_cells`: cell
    (i, j) holds rows ``floor(i H / 32)`` to ``floor((i+1) H / 32) - 1`` and columns
    likewise), every pixel in exactly one cell. The sums are exact integers: one
    OpenCV pass sums each band of rows (memory-bound, on the zero-copy view), NumPy
    then sums the band totals by column cell. So the thumbnail does not depend on
    thread counts or library versions, and equal pixels give equal thumbnails.
    """
    view = pixels(img if img.mode == "RGB" else img.convert("RGB"))  # (H, W, 3 or 4)
    height, width = view.shape[:2]
    row_first, row_end = _cells(height)
    col_first, col_end = _cells(width)
    bands = np.concatenate(
        [
            cv2.reduce(view[a:b], 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
            for a, b in zip(row_first.tolist(), row_end.tolist(), strict=True)
        ]
    )  # (32, W, C) int32: one band's column sums stay far below 2**31
    # reduceat: consecutive equal starts (W < 32) take the one column, as _cells says
    sums = np.add.reduceat(bands, col_first, axis=1, dtype=np.int64)
    counts = (row_end - row_first)[:, None] * (col_end - col_first)[None, :]
    luma = sums[..., 0] * LUMA[0] + sums[..., 1] * LUMA[1] + sums[..., 2] * LUMA[2]
    return luma / counts


def perceptual_hash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash of ``img`` as 16 hex digits (hqseg's own definition).

    :func:`grey_thumbnail` (32 x 32 cell means of the luma), its 8 x 8 lowest 2-D
    DCT-II frequencies (unnormalised, SciPy's convention: :data:`_DCT_LOW`) compared
    with their median, bits row-major. The structure is ``imagehash.phash``'s, but
    the thumbnail is an exact mean over all pixels instead of imagehash's Lanczos
    resize of a greyscale copy, so the values are not imagehash's: hashes compare only
    with each other. Cell means make the hash cheap (one memory-bound pass, about a
    tenth of a 2.4k JPEG decode) and stable: resized and re-encoded copies of the
    tests' photos land at a mean 1.6-2.6 bits (an OpenCV area resize to a uint8
    32 x 32: 2.7-4.4), unrelated images at 32 on average, 18 at least.
    """
    low = (_DCT_LOW @ grey_thumbnail(img) @ _DCT_LOW.T).ravel()
    middle = np.sort(low)[31:33]
    bits = low > (middle[0] + middle[1]) / 2  # the median of the 64
    return f"{int.from_bytes(np.packbits(bits).tobytes(), 'big'):016x}"


def pixel_digest(img: Image.Image) -> str:
    """sha1 of an image's RGB pixels and size: equal iff the decoded pixels are equal."""
    rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    digest = hashlib.sha1(f"{img.width}x{img.height}".encode())
    digest.update(rgb.data)
    return digest.hexdigest()
