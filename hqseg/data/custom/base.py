"""What every custom source shares: mask kinds, the instance rule, derived mask files.

A custom adapter yields the same :class:`~hqseg.data.schema.Pair` /
:class:`~hqseg.data.schema.Reject` items as a public one, so normalisation,
rejects, deduplication and leak checks are the same code. Masks that do not exist
as files (one COCO annotation, one instance of an id mask, an HF row) are written
as 8-bit PNG files into a work folder; :attr:`CustomSource.display` maps each such
file back to a name a user recognises (``ann.json#annotation=7``), used in rejects.

Mask kinds (``mask_type=`` option):

* ``binary``: any nonzero pixel is foreground (0/1, 0/255 and palette masks alike);
* ``grey``: grey levels are kept (alpha mattes; the pipeline thresholds at > 128
  for evaluation and uses /255 as a soft target for training);
* ``instances``: each distinct nonzero value is one object (RGB masks: each
  distinct nonzero colour) and becomes its own record, id ``<stem>/<value>``
  (``<stem>/<RRGGBB>`` for colours); ``ignore=V[,V...]`` leaves values out
  (e.g. ``ignore=255`` for VOC's boundary band);
* ``auto`` (default): ``binary`` when every mask seen is two-valued, else ``grey``.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from hqseg.data.adapter import SourceAdapter
from hqseg.data.custom.spec import SourceSpec, SpecError
from hqseg.data.mask_rule import mask_to_grey
from hqseg.data.schema import Pair, Reject
from hqseg.utils.regular import NotRegularFile, open_regular

CUSTOM_MASK_TYPES = ("auto", "binary", "grey", "instances")
AUTO_SAMPLE = 16


class CustomSource(SourceAdapter):
    """A user's source (``folder:``, ``coco:``, ``hf:``): a :class:`SourceAdapter` like
    the public sources (:class:`hqseg.data.sources.base.Source`).

    Attributes:
        spec: the parsed spec.
        name: source name (record ids are ``<name>/<stem>``).
        root: folder that reject paths are made relative to.
        work_dir: folder for derived mask/image files (owned by the caller).
        display: derived file path -> human name, for rejects.
    """

    kind = ""

    def __init__(self, spec: SourceSpec, work_dir: Path) -> None:
        self.spec = spec
        self.name = spec.name
        self.work_dir = Path(work_dir)
        self.display: dict[str, str] = {}
        self.mask_type = spec.options.get("mask_type", "auto")
        if self.mask_type not in CUSTOM_MASK_TYPES:
            raise SpecError(
                f"{spec.text!r}: mask_type must be one of {', '.join(CUSTOM_MASK_TYPES)}, "
                f"not {self.mask_type!r}"
            )
        self.ignore = _int_list(spec, "ignore")
        self.splits: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        raise NotImplementedError

    @property
    def mask_kind(self) -> str:
        """``object_ids`` (nonzero is foreground) or ``grey``, as normalisation reads it."""
        return "grey" if self.mask_type == "grey" else "object_ids"

    @property
    def licence(self) -> str:
        return self.spec.licence

    def iter_pairs(self, root: Path | None = None) -> Iterator[Pair | Reject]:
        """Pairs and listing-level rejects, deterministic order (``root`` is ignored)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """Changes whenever the input changes (used to reuse a normalised copy)."""
        raise NotImplementedError

    def resolve_auto(self, masks: list[Path]) -> None:
        """Settle ``mask_type=auto`` from up to :data:`AUTO_SAMPLE` masks (sorted order):
        ``binary`` when each, read by the one mask rule
        (:func:`~hqseg.data.mask_rule.mask_to_grey`), has at most two values and its
        foreground is the one that reading it as object ids gives; else ``grey``. So
        an RGBA matte (white colour, alpha carrying the matte) is read through its
        alpha, never as "every pixel is a non-zero id"."""
        if self.mask_type != "auto":
            return
        self.mask_type = "binary"
        for path in sorted(masks)[:AUTO_SAMPLE]:
            try:
                with open_regular(path) as fh, Image.open(fh) as img:
                    img.load()
                    grey = mask_to_grey(img, "grey")
                    ids = mask_to_grey(img, "object_ids")
                    if len(np.unique(grey)) > 2 or not np.array_equal(grey > 0, ids > 0):
                        self.mask_type = "grey"
                        return
            except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
                continue  # rejected later, with its reason

    # -- helpers for subclasses ------------------------------------------------

    def derived(self, rel: str, data: bytes, shown: str) -> Path:
        """Write ``data`` to ``work_dir/rel`` and remember ``shown`` as its name.

        ``rel`` is built from names in the user's data (COCO annotation ids, id cells);
        one that could leave ``work_dir`` (absolute, ``..``, empty parts) is written
        under ``unsafe/<sha256 of rel>`` instead, a name no safe ``rel`` can take.
        """
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in parts):
            rel = f"unsafe/{hashlib.sha256(rel.encode('utf-8', 'surrogatepass')).hexdigest()}"
        path = self.work_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.display[str(path)] = shown
        return path

    def reject(self, path: str | Path, reason: str, detail: str) -> Reject:
        return Reject(str(path), reason, detail, self.name)

    def instance_pairs(
        self, image: Path, mask: Path, split: str, stem: str, shown: str
    ) -> Iterator[Pair | Reject]:
        """One pair per object of an instance-id mask file (see the module rule)."""
        try:
            with open_regular(mask) as fh, Image.open(fh) as img:
                img.load()
                arr = np.asarray(img if img.mode in ("L", "P", "I", "I;16") else img.convert("RGB"))
        except NotRegularFile as exc:
            yield self.reject(mask, "special-file", f"mask is {exc.kind}, not a file")
            return
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            yield self.reject(mask, "unreadable-mask", f"mask does not decode: {exc}")
            return
        if arr.ndim == 3:
            values = arr[..., 0].astype(np.int64) << 16 | arr[..., 1].astype(np.int64) << 8
            values |= arr[..., 2]
            label = lambda v: f"{v:06x}"  # noqa: E731
        else:
            values = arr.astype(np.int64)
            label = str
        ids = [int(v) for v in np.unique(values) if v != 0 and int(v) not in self.ignore]
        if not ids:
            yield self.reject(mask, "empty-mask", "instance mask has no object id")
            return
        for value in ids:
            binary = np.where(values == value, 255, 0).astype(np.uint8)
            rel = f"instances/{split}/{stem}/{label(value)}.png"
            path = self.derived(rel, png_bytes(binary), f"{shown}#id={label(value)}")
            yield Pair(image, path, split, f"{stem}/{label(value)}")


def png_bytes(mask: np.ndarray) -> bytes:
    """(H, W) uint8 -> PNG bytes (mode L)."""
    buf = io.BytesIO()
    Image.fromarray(mask, "L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _int_list(spec: SourceSpec, key: str) -> frozenset[int]:
    value = spec.options.get(key, "")
    try:
        return frozenset(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise SpecError(f"{spec.text!r}: {key}= takes integers, not {value!r}") from None


def files_fingerprint(*roots: Path) -> str:
    """sha256 over (relative path, size, mtime) of every file under ``roots`` (files too)."""
    digest = hashlib.sha256()
    for root in roots:
        root = Path(root)
        if root.is_file():
            stat = root.stat()
            digest.update(f"{root.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fname in sorted(filenames):
                path = Path(dirpath) / fname
                try:
                    stat = path.stat()
                except OSError:
                    continue
                rel = path.relative_to(root).as_posix()
                digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
