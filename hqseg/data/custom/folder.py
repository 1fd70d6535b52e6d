"""``folder:PATH``: images and masks on disk, matched by stem.

Where the files are (first rule that applies):

1. ``images=`` / ``masks=`` options: a sub-folder name, or a glob relative to PATH
   (or to each split folder) such as ``imgs/*.jpg``;
2. else the first existing sub-folder among :data:`IMAGE_DIRS` and :data:`MASK_DIRS`;
3. else one folder holding both: masks are the files whose stem ends with the mask
   suffix; with no suffix found, ``.png`` files are masks and ``.jpg``/``.jpeg`` images.

Files are found recursively (junk such as ``__MACOSX`` skipped); the stem is the path
relative to the images folder without extension (``cats/001``), so the record id is
``<name>/cats/001``. A mask matches the image whose stem is the mask's stem minus the
mask suffix: ``mask_suffix=`` or, by default, whichever of :data:`SUFFIXES` (the
empty suffix first) matches the most masks.

Splits (``splits=auto|dirs|lists|none``; auto tries them in this order):

* ``dirs``: PATH/<split>/{images,masks} or PATH/{images,masks}/<split> with
  ``<split>`` among :data:`SPLIT_DIRS`;
* ``lists``: PATH/<split>.txt, PATH/lists/<split>.txt or PATH/splits/<split>.txt,
  one file name or stem per line; unlisted images are rejects (``not-listed``);
* ``none``: everything is split ``train``.

A folder where not a single image/mask pair matches is one clear error (the layout
was not understood) rather than a build of rejects only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from hqseg.data.custom.base import CustomSource, files_fingerprint
from hqseg.data.custom.spec import SourceSpec, SpecError
from hqseg.data.schema import Pair, Reject, is_image_file
from hqseg.data.sources.base import is_junk, read_list

IMAGE_DIRS = ("images", "image", "imgs", "img", "JPEGImages", "im")
MASK_DIRS = ("masks", "mask", "gt", "ground_truth", "labels", "annotations", "SegmentationObject")
SUFFIXES = ("", "_mask", "-mask", "_gt", "_label", "_seg", "_matte", "_alpha")
SPLIT_DIRS = ("train", "training", "val", "valid", "validation", "dev", "test", "testing")
SPLIT_MODES = ("auto", "dirs", "lists", "none")
_GLOB = set("*?[")


def _scan(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively, junk skipped, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(Path(d)))
        for fname in filenames:
            path = Path(dirpath) / fname
            if is_image_file(path) and not is_junk(Path(fname)):
                out.append(path)
    return sorted(out)


def _rel_stem(path: Path, base: Path) -> str:
    return path.relative_to(base).with_suffix("").as_posix()


class FolderSource(CustomSource):
    kind = "folder"

    def __init__(self, spec: SourceSpec, work_dir: Path) -> None:
        super().__init__(spec, work_dir)
        self.path = Path(spec.location).expanduser()
        if not self.path.is_dir():
            raise SpecError(f"{spec.text!r}: {self.path} is not a folder")
        self.split_mode = spec.options.get("splits", "auto")
        if self.split_mode not in SPLIT_MODES:
            raise SpecError(f"{spec.text!r}: splits= must be one of {', '.join(SPLIT_MODES)}")

    @property
    def root(self) -> Path:
        return self.path

    def fingerprint(self) -> str:
        return files_fingerprint(self.path)

    # -- layout ---------------------------------------------------------------

    def _files(self, base: Path, option: str, defaults: tuple[str, ...]) -> tuple[Path, list]:
        """(folder the stems are relative to, files) for images or masks under ``base``."""
        value = self.spec.options.get(option, "")
        if value and _GLOB & set(value):
            files = sorted(p for p in base.glob(value) if p.is_file() and is_image_file(p))
            parts = value.split("/")
            lead = next(i for i, part in enumerate(parts) if _GLOB & set(part))
            anchor = base.joinpath(*parts[:lead])  # stems are relative to the fixed part
            return anchor, [p for p in files if not is_junk(p.relative_to(base))]
        for name in (value,) if value else defaults:
            if (base / name).is_dir():
                return base / name, _scan(base / name)
        if value:
            raise SpecError(f"{self.spec.text!r}: {option} folder {base / value} not found")
        return base, []

    def _has_layout(self, base: Path) -> bool:
        values = [self.spec.options.get(k, "") for k in ("images", "masks")]
        if any(v and _GLOB & set(v) for v in values):
            return True
        images = (values[0],) if values[0] else IMAGE_DIRS
        masks = (values[1],) if values[1] else MASK_DIRS
        return any((base / n).is_dir() for n in images) and any((base / n).is_dir() for n in masks)

    def _split_bases(self) -> list[tuple[str, Path, str]]:
        """(split, base folder, where the split folder sits: ``outer``/``inner``/``""``)."""
        mode, root = self.split_mode, self.path
        if mode in ("auto", "dirs"):
            outer = [d for d in SPLIT_DIRS if (root / d).is_dir() and self._has_layout(root / d)]
            if outer:
                return [(d, root / d, "outer") for d in outer]
            if self._has_layout(root):
                img_dir, _ = self._files(root, "images", IMAGE_DIRS)
                inner = [d for d in SPLIT_DIRS if (img_dir / d).is_dir()]
                if inner and img_dir != root:
                    return [(d, root, "inner") for d in inner]
            if mode == "dirs":
                raise SpecError(
                    f"{self.spec.text!r}: splits=dirs but no split folder "
                    f"({', '.join(SPLIT_DIRS)}) holds images and masks"
                )
        return [("train", root, "")]

    def _list_files(self) -> dict[str, Path]:
        found = {}
        for folder in (self.path, self.path / "lists", self.path / "splits"):
            for split in SPLIT_DIRS:
                if split not in found and (folder / f"{split}.txt").is_file():
                    found[split] = folder / f"{split}.txt"
        return found

    def _collect(self, base: Path, inner: str) -> tuple[dict, dict, list[Reject], str]:
        img_dir, images = self._files(base, "images", IMAGE_DIRS)
        mask_dir, masks = self._files(base, "masks", MASK_DIRS)
        if inner:
            img_dir, mask_dir = img_dir / inner, mask_dir / inner
            images, masks = _scan(img_dir), _scan(mask_dir)
        if not images and not masks and img_dir == base:
            everything = _scan(base)
            suffix = self.spec.options.get("mask_suffix")
            if suffix is None:
                suffix = next((s for s in SUFFIXES[1:] if any(
                    p.stem.endswith(s) for p in everything)), "")  # fmt: skip
            if suffix:
                masks = [p for p in everything if p.stem.endswith(suffix)]
            else:
                masks = [p for p in everything if p.suffix.lower() == ".png"]
            images = [p for p in everything if p not in set(masks)]
            mask_dir = img_dir = base
        rejects: list[Reject] = []
        by_stem = self._by_stem(images, img_dir, rejects)
        suffix = self._suffix(masks, mask_dir, by_stem)
        mask_stems = {}
        for path in masks:
            stem = _rel_stem(path, mask_dir)
            stem = stem[: len(stem) - len(suffix)] if suffix and stem.endswith(suffix) else stem
            if stem in mask_stems:
                other = mask_stems[stem].name
                rejects.append(self.reject(path, "duplicate-stem", f"same stem as {other}"))
            else:
                mask_stems[stem] = path
        return by_stem, mask_stems, rejects, suffix

    def _by_stem(self, files: list[Path], base: Path, rejects: list[Reject]) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for path in files:
            stem = _rel_stem(path, base)
            if stem in out:
                rejects.append(
                    self.reject(path, "duplicate-stem", f"same stem as {out[stem].name}")
                )
            else:
                out[stem] = path
        return out

    def _suffix(self, masks: list[Path], mask_dir: Path, images: dict[str, Path]) -> str:
        if "mask_suffix" in self.spec.options:
            return self.spec.options["mask_suffix"]
        stems = [_rel_stem(p, mask_dir) for p in masks]

        def hits(suffix: str) -> int:
            return sum(s.endswith(suffix) and s[: len(s) - len(suffix)] in images for s in stems)

        return max(SUFFIXES, key=lambda s: (hits(s), -SUFFIXES.index(s)))

    # -- pairs ----------------------------------------------------------------

    def iter_pairs(self, root: Path | None = None) -> Iterator[Pair | Reject]:
        items: list[Pair | Reject] = []
        bases = self._split_bases()
        lists = self._list_files() if self.split_mode in ("auto", "lists") else {}
        if self.split_mode == "lists" and not lists:
            raise SpecError(f"{self.spec.text!r}: splits=lists but no <split>.txt list file found")
        if len(bases) > 1 or bases[0][2]:
            lists = {}
        collected = [(split, *self._collect(base, split if where == "inner" else ""))
                     for split, base, where in bases]  # fmt: skip
        self.resolve_auto([m for *_, masks, _, _ in collected for m in masks.values()])
        for split, images, masks, rejects, suffix in collected:
            items += rejects
            split_of = self._listed(images, masks, lists, suffix, items) if lists else {}
            for stem in sorted(images.keys() | masks.keys()):
                image, mask = images.get(stem), masks.get(stem)
                if image is None:
                    items.append(
                        self.reject(mask, "image-missing", f"no image for mask {mask.name}")
                    )
                elif mask is None:
                    items.append(
                        self.reject(image, "mask-missing", f"no mask for image {image.name}")
                    )
                elif lists and stem not in split_of:
                    items.append(self.reject(image, "not-listed", "image named by no list file"))
                else:
                    items.extend(self._pairs(image, mask, split_of.get(stem, split), stem))
        self.splits = tuple(sorted({i.split for i in items if isinstance(i, Pair)}))
        if not self.splits:  # nothing matched at all: the layout was not understood
            raise SpecError(
                f"{self.spec.text!r}: no image/mask pair found under {self.path} "
                f"({len(items)} unmatched files); name the folders with "
                "?images=DIR_OR_GLOB&masks=DIR_OR_GLOB and the suffix with ?mask_suffix="
            )
        yield from items

    def _listed(self, images, masks, lists, suffix, items) -> dict[str, str]:
        split_of: dict[str, str] = {}
        for split, list_file in lists.items():
            for line in read_list(list_file):
                stem = Path(line).with_suffix("").as_posix() if Path(line).suffix else line
                if stem not in images and suffix and stem.endswith(suffix):
                    stem = stem[: -len(suffix)]
                where = f"{list_file}:{line}"
                if stem not in images or stem not in masks:
                    detail = f"{line} has no image and mask pair"
                    items.append(self.reject(where, "list-entry-missing", detail))
                elif stem in split_of:
                    detail = f"{line} is also listed in {split_of[stem]}"
                    items.append(self.reject(where, "duplicate-id", detail))
                else:
                    split_of[stem] = split
        return split_of

    def _pairs(self, image: Path, mask: Path, split: str, stem: str):
        if self.mask_type == "instances":
            rel = mask.relative_to(self.path).as_posix() if mask.is_relative_to(self.path) else mask
            yield from self.instance_pairs(image, mask, split, stem, str(rel))
        else:
            yield Pair(image, mask, split, stem)
