"""The one record type of HQSeg-44K, and the types that flow into it.

A source adapter yields :class:`Pair` (an image and its mask on disk) or
:class:`Reject` (an input file that cannot become a record, with the reason).
Normalisation turns each pair into a record with :data:`RECORD_COLUMNS`;
the build writes records as parquet with :func:`features`.

Conventions:
    * ``id`` is ``"<source>/<original stem>"``; FSS-1000 stems carry their class
      (``"fss1000/<class>/<n>"``) because file names repeat across classes.
    * ``image`` holds the original file's bytes (re-encoded only when conversion
      is unavoidable: CMYK, palette, 16-bit, EXIF rotation).
    * ``mask`` is an 8-bit single-channel (``L``) PNG; grey levels are kept
      (soft targets for training, thresholded at >128 for evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RECORD_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "split",
    "image",
    "mask",
    "width",
    "height",
    "category",
    "sha256",
)


@dataclass(frozen=True)
class Pair:
    """One image/mask pair found in a raw source folder.

    Attributes:
        image: path of the image file.
        mask: path of the mask file.
        split: split name in the source's own terms mapped to hqseg's
            (``train``, ``val``, ``test``, ...); must match ``\\w+``.
        stem: unique name within the source; the record id is ``source/stem``.
        category: FSS-1000 class name, or ``""``.
    """

    image: Path
    mask: Path
    split: str
    stem: str
    category: str = ""


@dataclass(frozen=True)
class Reject:
    """An input file that did not become a record, and why.

    Attributes:
        path: the file (or archive member) concerned, as a string.
        reason: short machine-friendly reason, e.g. ``"mask-missing"``,
            ``"unsafe-path"``, ``"truncated-image"``.
        detail: human explanation.
        source: source name, filled in by whoever knows it.
    """

    path: str
    reason: str
    detail: str = ""
    source: str = ""


def features():
    """The HF ``datasets.Features`` of a record (imported lazily: datasets is heavy)."""
    import datasets

    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "source": datasets.Value("string"),
            "split": datasets.Value("string"),
            "image": datasets.Image(),
            "mask": datasets.Image(),
            "width": datasets.Value("int32"),
            "height": datasets.Value("int32"),
            "category": datasets.Value("string"),
            "sha256": datasets.Value("string"),
        }
    )


def record_id(source: str, stem: str) -> str:
    """The record id for ``stem`` of ``source``."""
    return f"{source}/{stem}"


def is_image_file(path: Path) -> bool:
    """True for the image extensions the sources use (case-insensitive)."""
    return path.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
