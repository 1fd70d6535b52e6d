"""Turn one image/mask :class:`~hqseg.data.schema.Pair` into a record, or a reject.

This is the per-pair work of normalisation, run in worker processes. Each pair is
decoded exactly once; the same pass computes the perceptual hash used for duplicate
detection. Pixels are viewed in place (no copies), which keeps the work close to
the cost of decoding alone.

Rules (each failure is a :class:`~hqseg.data.schema.Reject` with one of
:data:`REASONS`):

* image and mask must decode completely (zero-byte and truncated files are rejected);
* EXIF orientation is applied to both, so they agree;
* images that are not plain RGB (CMYK, greyscale, palette, 16-bit, alpha) or that
  needed rotating are converted to RGB and re-encoded as PNG (lossless); all
  others keep their original bytes;
* masks become 8-bit single-channel PNG by the one rule of :func:`mask_to_grey`
  (alpha mattes, 16-bit, palette, JPEG and object-id masks are all defined there);
  an 8-bit L PNG that the rule leaves unchanged keeps its bytes;
* a mask with no foreground pixel (``empty-mask``) or no background pixel
  (``full-mask``) after conversion is rejected, foreground being grey > 128;
* image/mask size mismatch is rejected (``size_mismatch="reject"``) or the mask is
  resized to the image with nearest-neighbour sampling, keeping its grey levels,
  and a warning is recorded (``size_mismatch="resize"``).
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import scipy.fft
from PIL import Image, ImageOps, UnidentifiedImageError

from hqseg.data.schema import Pair, Reject, record_id
from hqseg.errors import DatasetError

#: Reject reasons produced here (the download/extraction side adds its own).
REASONS = {
    "image-missing": "the image file does not exist or cannot be read",
    "mask-missing": "the mask file does not exist or cannot be read",
    "unreadable-image": "the image has zero bytes or is not a recognised image format",
    "truncated-image": "the image file ends early or is corrupt (decoding failed)",
    "unreadable-mask": "the mask has zero bytes, is not an image, or does not decode",
    "empty-mask": "the mask has no foreground pixel (none above 128 after conversion)",
    "full-mask": "the mask has no background pixel (all above 128 after conversion)",
    "size-mismatch": "image and mask sizes differ (size_mismatch=reject)",
}

SIZE_MISMATCH_MODES = ("reject", "resize")


@dataclass
class Converted:
    """A normalised record plus what the build needs from the same decode pass.

    ``row`` has the record columns plus ``phash`` (:func:`perceptual_hash`);
    ``warnings`` are human messages (e.g. a resized mask).
    """

    row: dict
    warnings: list[str] = field(default_factory=list)
    #: column -> (path, size, mtime_ns) of bytes left in their file (``defer_file_bytes``).
    deferred: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    def load_deferred(self) -> None:
        """Fill in the bytes ``convert_pair(defer_file_bytes=True)`` left in their files.

        Raises:
            DatasetError: a file is gone or changed (size or mtime) since it was converted.
        """
        for column, (path, size, mtime) in self.deferred.items():
            try:
                with open(path, "rb") as fh:
                    stat = os.fstat(fh.fileno())
                    data = fh.read()
            except OSError as exc:
                raise DatasetError(f"{path}: cannot re-read after conversion: {exc}") from exc
            if (len(data), stat.st_size, stat.st_mtime_ns) != (size, size, mtime):
                raise DatasetError(f"{path}: file changed while normalising; run again")
            self.row[column]["bytes"] = data
        self.deferred = {}


class _Bad(Exception):
    def __init__(self, path: Path, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.path, self.reason, self.detail = path, reason, detail


def _open(path: Path, kind: str) -> tuple[bytes, Image.Image]:
    """Read and fully decode ``path``; raise :class:`_Bad` with the reason.

    Image failures are ``unreadable-image`` (zero bytes, unknown format) or
    ``truncated-image`` (header fine, pixels corrupt); any mask failure is
    ``unreadable-mask``; the detail says which.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        detail = "file not found" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc}"
        raise _Bad(path, f"{kind}-missing", f"{kind} {detail}") from None
    if not data:
        raise _Bad(path, f"unreadable-{kind}", f"{kind} file has zero bytes")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except UnidentifiedImageError:  # before OSError, its base class
        raise _Bad(path, f"unreadable-{kind}", f"{kind} is not a recognised image format") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reason = "truncated-image" if kind == "image" else "unreadable-mask"
        raise _Bad(path, reason, f"{kind} decoding failed (truncated or corrupt): {exc}") from None
    return data, img


def _oriented(img: Image.Image) -> tuple[Image.Image, bool]:
    """Apply EXIF orientation; return the image and whether it changed."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF: treat as unrotated
        return img, False
    if orientation in (None, 1):
        return img, False
    return ImageOps.exif_transpose(img), True


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _use_single_blocks() -> None:
    """Let Pillow store each decoded image in one memory block (default: 16 MB blocks),
    so :func:`pixels` can view any image without copying, and keep a few freed blocks
    for the next images: without that cache every image's memory is mapped, faulted in
    and zeroed afresh, a quarter of the decode time. Memory stays bounded
    (:data:`_CACHED_BLOCKS` images at most)."""
    global _SINGLE_BLOCKS
    if not _SINGLE_BLOCKS:
        Image.core.set_block_size(1 << 30)
        Image.core.set_blocks_max(max(Image.core.get_blocks_max(), _CACHED_BLOCKS))
        _SINGLE_BLOCKS = True


_SINGLE_BLOCKS = False
_CACHED_BLOCKS = 4  # an image, its mask and their conversions


def worker_init() -> None:
    """Set up a worker process of a pool that already keeps every core busy.

    OpenCV's own thread pool only adds hand-over cost there, so it gets one thread.
    """
    cv2.setNumThreads(1)
    _use_single_blocks()


def pixels(img: Image.Image) -> np.ndarray:
    """A read-only view of ``img``'s pixels without copying when Pillow allows it.

    RGB images come as (H, W, 4) with Pillow's padding byte last (use ``[..., :3]``),
    L images as (H, W); other modes, or a Pillow that cannot export, are copied
    with ``np.asarray``.
    """
    if img.mode in ("RGB", "L"):
        try:
            flat = pa.array(img).flatten() if img.mode == "RGB" else pa.array(img)
        except (ValueError, TypeError, pa.ArrowException):
            return np.asarray(img)
        data = np.frombuffer(flat.buffers()[1], np.uint8)[flat.offset : flat.offset + len(flat)]
        return (
            data.reshape(img.height, img.width, -1)
            if img.mode == "RGB"
            else data.reshape(img.height, img.width)
        )
    return np.asarray(img)


def _image_rgb(data: bytes, img: Image.Image) -> tuple[bytes, Image.Image]:
    """The stored image bytes and the RGB image."""
    img, rotated = _oriented(img)
    if img.mode == "RGB" and not rotated:
        return data, img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray((arr * (255.0 / top)).round().astype(np.uint8), "L")
    rgb = img.convert("RGB")
    return _png(rgb), rgb


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


def _same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal``, answered without a pass when both view the same memory."""
    same_view = (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )
    return same_view or np.array_equal(a, b)


def _mask_grey(data: bytes, img: Image.Image, mask_kind: str) -> tuple[bool, np.ndarray]:
    """Reduce a mask to (H, W) uint8 by :func:`mask_to_grey`; returns
    (original bytes reusable, array)."""
    fmt = img.format
    img, rotated = _oriented(img)
    img.format = fmt  # exif_transpose drops it; the JPEG rule needs it
    grey = mask_to_grey(img, mask_kind)
    reusable = (
        img.mode == "L"
        and fmt == "PNG"
        and not rotated
        and mask_kind != "object_ids"
        and _same_pixels(grey, pixels(img))  # the two-level rule may have changed it
    )
    return reusable, grey


def pixel_digest(img: Image.Image) -> str:
    """sha1 of an image's RGB pixels and size: equal iff the decoded pixels are equal."""
    rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    digest = hashlib.sha1(f"{img.width}x{img.height}".encode())
    digest.update(rgb.data)
    return digest.hexdigest()


def perceptual_hash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash as 16 hex digits (the algorithm of ``imagehash.phash``).

    Grey 32x32, 2-D DCT-II, the 8x8 lowest frequencies compared with their median,
    bits row-major. The 32x32 is an area average of all pixels (OpenCV, on the
    zero-copy view) rather than imagehash's Lanczos resize: about 3x cheaper and more
    stable under resizing/re-encoding (mean 3.6 vs 4.1 bits in the tests' images).
    Hashes compare among themselves, not with imagehash's.
    """
    view = pixels(img.convert("RGB") if img.mode != "RGB" else img)
    small = cv2.resize(np.ascontiguousarray(view), (32, 32), interpolation=cv2.INTER_AREA)
    grey = small[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    low = scipy.fft.dct(scipy.fft.dct(grey, axis=0), axis=1)[:8, :8].ravel()
    bits = low > np.median(low)
    return f"{int.from_bytes(np.packbits(bits).tobytes(), 'big'):016x}"


def convert_pair(
    source: str,
    pair: Pair,
    *,
    size_mismatch: str = "reject",
    mask_kind: str = "grey",
    defer_file_bytes: bool = False,
) -> Converted | Reject:
    """Normalise ``pair`` of ``source`` into a record row, or say why not.

    ``defer_file_bytes``: stored bytes that are a file's own bytes are left out of the
    row (``None``) and named in :attr:`Converted.deferred`, for a caller in another
    process to read them itself (:meth:`Converted.load_deferred`) rather than receive
    them through a pipe.
    """
    _use_single_blocks()
    try:
        image_data, image = _open(Path(pair.image), "image")
        mask_data, mask = _open(Path(pair.mask), "mask")
        stored_image, rgb = _image_rgb(image_data, image)
        reusable, grey = _mask_grey(mask_data, mask, mask_kind)
    except _Bad as bad:
        return Reject(str(bad.path), bad.reason, bad.detail, source)
    if grey.size == 0 or grey.max() <= FOREGROUND:  # max/min: no boolean mask built
        return Reject(
            str(pair.mask), "empty-mask", f"no foreground pixel (none above {FOREGROUND})", source
        )
    if grey.min() > FOREGROUND:
        return Reject(
            str(pair.mask), "full-mask", f"no background pixel (all above {FOREGROUND})", source
        )
    warnings = []
    width, height = rgb.size
    if grey.shape != (height, width):
        detail = f"image {width}x{height}, mask {grey.shape[1]}x{grey.shape[0]}"
        if size_mismatch == "reject":
            return Reject(str(pair.mask), "size-mismatch", detail, source)
        grey = np.asarray(Image.fromarray(grey).resize((width, height), Image.Resampling.NEAREST))
        reusable = False
        warnings.append(f"{pair.mask}: mask resized to the image ({detail})")
    stored_mask = mask_data if reusable else _png(Image.fromarray(grey, "L"))
    sha256 = hashlib.sha256(stored_image).hexdigest()
    deferred = {}
    if defer_file_bytes:
        for column, path, stored, data in (
            ("image", pair.image, stored_image, image_data),
            ("mask", pair.mask, stored_mask, mask_data),
        ):
            try:
                stat = os.stat(path) if stored is data else None
            except OSError:  # gone already: send the bytes read
                stat = None
            if stat is not None and stat.st_size == len(data):
                deferred[column] = (str(path), len(data), stat.st_mtime_ns)
    row = {
        "id": record_id(source, pair.stem),
        "source": source,
        "split": pair.split,
        "image": {"bytes": None if "image" in deferred else stored_image, "path": None},
        "mask": {"bytes": None if "mask" in deferred else stored_mask, "path": None},
        "width": int(width),
        "height": int(height),
        "category": pair.category,
        "sha256": sha256,
        "phash": perceptual_hash(rgb),
    }
    return Converted(row, warnings, deferred)
