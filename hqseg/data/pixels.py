"""Decoded pixels without copies, and the memory settings of decoding workers.

Normalisation decodes every image and mask once; what it does with the pixels (mask
rule, perceptual hash) is cheap next to the decode only if the pixels are viewed in
place and the memory of one image is reused for the next rather than mapped and
zeroed afresh. This module holds both: :func:`pixels` (a NumPy view of a Pillow
image) and the process settings that make it possible (:func:`use_single_blocks`,
:func:`worker_init`).
"""

from __future__ import annotations

import cv2
import numpy as np
import pyarrow as pa
from PIL import Image, TiffImagePlugin  # noqa: F401 (EXIF reading imports it)

from hqseg.utils.memory import keep_freed_memory

# Pillow's common format plugins load here, not on the first image: pool workers
# forked from a server that imported this module then start with them.
Image.preinit()

_SINGLE_BLOCKS = False
_CACHED_BLOCKS = 4  # an image, its mask and their conversions


def use_single_blocks() -> None:
    """Let Pillow store each decoded image in one memory block (default: 16 MB blocks),
    so :func:`pixels` can view any image without copying, and keep a few freed blocks
    for the next images: without that cache every image's memory is mapped, faulted in
    and zeroed afresh, a quarter of the decode time. Memory stays bounded
    (:data:`_CACHED_BLOCKS` images at most). Idempotent."""
    global _SINGLE_BLOCKS
    if not _SINGLE_BLOCKS:
        Image.core.set_block_size(1 << 30)
        Image.core.set_blocks_max(max(Image.core.get_blocks_max(), _CACHED_BLOCKS))
        _SINGLE_BLOCKS = True


def worker_init() -> None:
    """Set up a decoding worker process of a pool that already keeps every core busy.

    OpenCV's own thread pool only adds hand-over cost there, so it gets one thread;
    Pillow gets single, reused blocks and freed memory stays in the process
    (:func:`hqseg.utils.memory.keep_freed_memory`: process-wide, hence only in pool
    workers).
    """
    cv2.setNumThreads(1)
    use_single_blocks()
    keep_freed_memory()


def pixels(img: Image.Image) -> np.ndarray:
    """A read-only view of ``img``'s pixels without copying when Pillow allows it.

    RGB images come as (H, W, 4) with Pillow's padding byte last (use ``[..., :3]``),
    L images as (H, W); other modes, or a Pillow that cannot export, are copied
    with ``np.asarray``.
    """
    if img.mode in ("RGB", "L"):
        try:
            arr = pa.array(img)  # RGB: one fixed-size list of 4 bytes per pixel
        except (ValueError, TypeError, pa.ArrowException):
            return np.asarray(img)
        start, count = arr.offset, len(arr)
        if img.mode == "RGB":  # .values, not .flatten(): that imports pyarrow.compute (0.3 s)
            size = arr.type.list_size
            start, count, arr = start * size, count * size, arr.values
        start += arr.offset
        data = np.frombuffer(arr.buffers()[1], np.uint8)[start : start + count]
        return (
            data.reshape(img.height, img.width, -1)
            if img.mode == "RGB"
            else data.reshape(img.height, img.width)
        )
    return np.asarray(img)
