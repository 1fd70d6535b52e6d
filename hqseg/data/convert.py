"""Turn one image/mask :class:`~hqseg.data.schema.Pair` into a record, or a reject.

This is the per-pair work of normalisation, run in worker processes. Each pair is
decoded exactly once; the same decode gives the perceptual hash used for duplicate
detection (:mod:`hqseg.data.fingerprints`). Pixels are viewed in place
(:mod:`hqseg.data.pixels`), which keeps the work close to the cost of decoding alone.

Rules (each failure is a :class:`~hqseg.data.schema.Reject` with one of
:data:`REASONS`):

* image and mask must decode completely (zero-byte and truncated files are rejected);
* EXIF orientation is applied to both, so they agree;
* images that are not plain RGB (CMYK, greyscale, palette, 16-bit, alpha) or that
  needed rotating are converted to RGB and re-encoded as PNG (lossless); all
  others keep their original bytes;
* masks become 8-bit single-channel PNG by the one rule of
  :func:`hqseg.data.mask_rule.mask_to_grey`
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

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hqseg.data.fingerprints import perceptual_hash
from hqseg.data.mask_rule import FOREGROUND, mask_to_grey
from hqseg.data.pixels import pixels, use_single_blocks
from hqseg.data.schema import Pair, Reject, record_id
from hqseg.errors import DatasetError
from hqseg.utils.regular import NotRegularFile, open_regular, read_regular

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
    "special-file": "a FIFO, socket, device or folder where a file is expected (never read)",
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
                with open_regular(path) as fh:
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
        data = read_regular(path)
    except NotRegularFile as exc:
        raise _Bad(path, "special-file", f"{kind} is {exc.kind}, not a file") from None
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
    use_single_blocks()
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
