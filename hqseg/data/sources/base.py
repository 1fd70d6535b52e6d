"""The :class:`Source` base class and the layout helpers every adapter shares.

An adapter knows one source's raw layout (original release and HQ-SAM repack) and
nothing else: it pairs files by name and yields :class:`Pair` or, for what it can
see is unusable at layout level, :class:`Reject`. Pixel checks happen later.

Layout conventions handled here, once:
    * folders may be nested inside same-named or wrapper folders (``X/X/...``), so
      folders are found by name at any depth (:func:`find_dir`);
    * junk (``__MACOSX``, ``.DS_Store``, ``._*`` resource forks, ``Thumbs.db``) is ignored;
    * output order is deterministic: pairs sorted by (split, stem), then rejects by path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from hqseg.data.adapter import SourceAdapter
from hqseg.data.catalog import SourceEntry, source_entry
from hqseg.data.schema import Pair, Reject, is_image_file
from hqseg.errors import DatasetError

JUNK_NAMES = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", ".hqseg"})
MAX_DEPTH = 5


def is_junk(path: Path) -> bool:
    """True for OS junk: ``__MACOSX`` trees, ``.DS_Store``, ``._*`` forks, ``Thumbs.db``."""
    return any(part in JUNK_NAMES or part.startswith("._") for part in path.parts)


def find_dir(root: Path, name: str) -> Path | None:
    """The folder called ``name`` under ``root`` (breadth-first, junk skipped), or None.

    A folder that only wraps a same-named folder (``name/name``) resolves to the inner one.
    Matching is case-sensitive, siblings are visited in sorted order.
    """
    if root.name == name:
        return _unwrap(root)
    level = [root]
    for _ in range(MAX_DEPTH):
        nxt: list[Path] = []
        for folder in level:
            for child in _subfolders(folder):
                if child.name == name:
                    return _unwrap(child)
                nxt.append(child)
        level = nxt
    return None


def _junk_name(name: str) -> bool:
    return name in JUNK_NAMES or name.startswith("._")


def _subfolders(folder: Path) -> list[Path]:
    """Non-junk folders directly in ``folder``, sorted by name (types from the listing:
    no stat per file, which matters in folders of thousands of images)."""
    if is_junk(folder):  # so is everything in it
        return []
    with os.scandir(folder) as it:
        names = [e.name for e in it if not _junk_name(e.name) and _is_dir(e)]
    return [folder / n for n in sorted(names)]


def _unwrap(folder: Path) -> Path:
    while True:
        entries: list[os.DirEntry] = []
        if not is_junk(folder):
            with os.scandir(folder) as it:
                for entry in it:
                    if not _junk_name(entry.name):
                        entries.append(entry)
                        if len(entries) > 1:
                            break
        if len(entries) == 1 and _is_dir(entries[0]) and entries[0].name == folder.name:
            folder = folder / entries[0].name
        else:
            return folder


def find_any(root: Path, *names: str) -> Path | None:
    """The first of ``names`` found by :func:`find_dir`."""
    for name in names:
        found = find_dir(root, name)
        if found is not None:
            return found
    return None


def has_marker(root: Path, marker: str) -> bool:
    """True if ``marker`` (``"NAME"`` or ``"NAME/child"``) is found under ``root``."""
    head, _, rest = marker.partition("/")
    found = find_dir(root, head)
    return found is not None and (not rest or (found / rest).exists())


def image_files(
    folder: Path, *, exts: Iterable[str] | None = None, rejects: list[Reject] | None = None
) -> dict[str, Path]:
    """Image files directly in ``folder`` by stem (junk skipped); ``exts`` lower-case, dotted.

    A second file with an already-seen stem (``1.jpg`` and ``1.jpeg``) is appended to
    ``rejects`` as ``duplicate-stem`` (the first in sorted order is kept).
    """
    wanted = set(exts) if exts is not None else None
    out: dict[str, Path] = {}
    if is_junk(folder):  # so is everything in it
        return out
    with os.scandir(folder) as it:  # file types from the listing: no stat per file
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if _junk_name(entry.name) or not _is_file(entry):
            continue
        path = folder / entry.name
        if not is_image_file(path):
            continue
        if wanted is not None and path.suffix.lower() not in wanted:
            continue
        if path.stem in out:
            if rejects is not None:
                rejects.append(
                    Reject(str(path), "duplicate-stem", f"same stem as {out[path.stem].name}")
                )
            continue
        out[path.stem] = path
    return out


def _is_file(entry: os.DirEntry) -> bool:
    """``Path.is_file`` of a listing entry (symlinks followed, errors mean no)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry) -> bool:
    """``Path.is_dir`` of a listing entry (symlinks followed, errors mean no)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def match_stems(
    images: dict[str, Path],
    masks: dict[str, Path],
    *,
    split: str,
    stem_prefix: str = "",
    category: str = "",
) -> Iterator[Pair | Reject]:
    """Pair images and masks by stem; an unmatched file becomes a Reject."""
    for stem in sorted(images.keys() | masks.keys()):
        image, mask = images.get(stem), masks.get(stem)
        if image is not None and mask is not None:
            yield Pair(image, mask, split, stem_prefix + stem, category)
        elif image is not None:
            yield Reject(str(image), "mask-missing", f"no mask for image {image.name}")
        else:
            yield Reject(str(mask), "image-missing", f"no image for mask {mask.name}")


def same_folder_pairs(folder: Path, *, split: str, stem_prefix: str = "", category: str = ""):
    """Pairs in one folder holding ``stem.jpg`` (or .jpeg) images and ``stem.png`` masks."""
    rejects: list[Reject] = []
    images = image_files(folder, exts=(".jpg", ".jpeg"), rejects=rejects)
    masks = image_files(folder, exts=(".png",), rejects=rejects)
    yield from rejects
    yield from match_stems(images, masks, split=split, stem_prefix=stem_prefix, category=category)


def two_folder_pairs(images_dir: Path, masks_dir: Path, *, split: str, stem_prefix: str = ""):
    """Pairs of ``images_dir/stem.*`` and ``masks_dir/stem.*``."""
    rejects: list[Reject] = []
    images = image_files(images_dir, rejects=rejects)
    masks = image_files(masks_dir, rejects=rejects)
    yield from rejects
    yield from match_stems(images, masks, split=split, stem_prefix=stem_prefix)


def read_list(path: Path) -> list[str]:
    """Non-empty, stripped lines of a list file (UTF-8, BOM and CRLF tolerated)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read list file: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def _order(item: Pair | Reject) -> tuple:
    if isinstance(item, Pair):
        return (0, item.split, item.stem)
    return (1, item.path, item.reason)


class Source(SourceAdapter):
    """One source: its catalog metadata and its raw-layout adapter (a :class:`SourceAdapter`).

    Subclasses set ``name``, ``splits``, ``original_markers`` / ``repack_markers``
    (folder names that identify each layout) and implement ``_original`` and
    ``_repack`` (each: ``root -> iterable of Pair | Reject``).

    Attributes:
        mask_kind: ``"binary"`` (0/255, maybe anti-aliased), ``"alpha"`` (soft
            mattes) or ``"object_ids"`` (1, 2, ... per object; nonzero is foreground).
    """

    name: str = ""
    splits: tuple[str, ...] = ()
    mask_kind: str = "binary"
    original_markers: tuple[str, ...] = ()
    repack_markers: tuple[str, ...] = ()

    @property
    def entry(self) -> SourceEntry:
        return source_entry(self.name)

    @property
    def licence(self) -> str:
        return self.entry.licence

    @property
    def citation(self) -> str:
        return self.entry.citation

    @property
    def homepage(self) -> str:
        return self.entry.homepage

    def detect_layout(self, root: Path) -> str:
        """``"original"`` or ``"repack"``, from the marker folders found under ``root``.

        Raises:
            DatasetError: neither layout is there, naming the folders looked for.
        """
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: not a folder (run `hqseg download {self.name}` first)")
        if any(has_marker(root, m) for m in self.original_markers):
            return "original"
        if any(has_marker(root, m) for m in self.repack_markers):
            return "repack"
        wanted = ", ".join(self.original_markers + self.repack_markers)
        raise DatasetError(f"{root}: no {self.name} layout found (looked for folders: {wanted})")

    def iter_pairs(self, root: Path) -> Iterator[Pair | Reject]:
        """Pairs and layout-level rejects under ``root``, in sorted order, for either layout."""
        root = Path(root)
        layout = self.detect_layout(root)
        found = self._original(root) if layout == "original" else self._repack(root)
        items = [
            item if isinstance(item, Pair) else _with_source(item, self.name) for item in found
        ]
        yield from sorted(items, key=_order)

    def _original(self, root: Path) -> Iterable[Pair | Reject]:
        raise NotImplementedError

    def _repack(self, root: Path) -> Iterable[Pair | Reject]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Source {self.name}>"


def _with_source(reject: Reject, source: str) -> Reject:
    return Reject(reject.path, reject.reason, reject.detail, reject.source or source)


def require_dir(root: Path, *names: str) -> Path:
    """:func:`find_any` that raises a clear :class:`DatasetError` when nothing is found."""
    found = find_any(root, *names)
    if found is None:
        raise DatasetError(f"{root}: folder {' or '.join(names)} not found")
    return found
