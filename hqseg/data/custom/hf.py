"""``hf:NAME_OR_PATH[:CONFIG][:SPLIT]``: any Hugging Face dataset with images and masks.

Loading, with the real ``datasets`` loader:

* a local folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
  (it holds ``state.json`` or ``dataset_dict.json``): ``datasets.load_from_disk``;
* anything else (a Hub name such as ``org/name``, a local folder of parquet or image
  files): ``datasets.load_dataset(NAME_OR_PATH, CONFIG)``; Hub access follows the
  usual ``HF_TOKEN`` / ``HF_HUB_OFFLINE`` settings.

Without SPLIT every split is read under its own name. Columns: ``image=`` and
``mask=`` name them; otherwise the image column is the first image-typed column
called one of :data:`IMAGE_COLUMNS` (else the first image-typed column) and the
mask column the first column called one of :data:`MASK_COLUMNS` (else the only other
image-typed column). No mask column is one clear error listing the columns. A mask
may be an image or a 2-D array of numbers. Stems are ``<split>/<id>`` with ``id``
from ``id=`` or the first of :data:`ID_COLUMNS` present, else the row number
(6 digits).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hqseg.data.custom.base import CustomSource, files_fingerprint, png_bytes
from hqseg.data.custom.spec import SourceSpec
from hqseg.data.schema import Pair, Reject
from hqseg.errors import DatasetError
from hqseg.utils.regular import read_regular

IMAGE_COLUMNS = ("image", "img", "images", "pixel_values", "input", "photo")
MASK_COLUMNS = ("mask", "masks", "label", "labels", "annotation", "segmentation",
                "segmentation_mask", "gt", "ground_truth", "matte", "alpha", "seg")  # fmt: skip
ID_COLUMNS = ("id", "image_id", "name", "file_name", "filename")


def _is_image_feature(feature) -> bool:
    return type(feature).__name__ == "Image"


class HFSource(CustomSource):
    kind = "hf"

    def __init__(self, spec: SourceSpec, work_dir: Path) -> None:
        super().__init__(spec, work_dir)
        self.config, self.split = (spec.extra + ("", ""))[:2]
        local = Path(spec.location).expanduser()
        self.local = local if local.exists() else None
        self._splits: dict | None = None

    @property
    def root(self) -> Path:
        return self.local if self.local is not None else self.work_dir

    def _load(self) -> dict:
        """split name -> ``datasets.Dataset`` (loaded once)."""
        if self._splits is not None:
            return self._splits
        import datasets

        from hqseg.utils.progress import quiet_library_bars

        quiet_library_bars()
        where = self.spec.text
        try:
            if (
                self.local is not None
                and self.local.is_dir()
                and any((self.local / f).is_file() for f in ("state.json", "dataset_dict.json"))
            ):
                loaded = datasets.load_from_disk(str(self.local))
            else:
                loaded = datasets.load_dataset(self.spec.location, self.config or None)
        except (FileNotFoundError, ValueError, ConnectionError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatasetError(f"{where}: cannot load the dataset: {first}") from None
        if isinstance(loaded, datasets.Dataset):
            loaded = {self.split or "train": loaded}
        splits = dict(loaded)
        if self.split:
            if self.split not in splits:
                raise DatasetError(
                    f"{where}: no split {self.split!r}; the dataset has {', '.join(splits)}"
                )
            splits = {self.split: splits[self.split]}
        self._splits = {_split_name(s): ds for s, ds in splits.items()}
        return self._splits

    def fingerprint(self) -> str:
        if self.local is not None:
            return files_fingerprint(self.local)
        return "|".join(f"{s}:{ds._fingerprint}" for s, ds in sorted(self._load().items()))

    def columns(self, dataset) -> tuple[str, str, str | None]:
        """(image column, mask column, id column or None) of ``dataset``."""
        features = dataset.features
        names = list(features)
        images = [n for n in names if _is_image_feature(features[n])]
        opts = self.spec.options
        image = opts.get("image") or next(
            (n for n in IMAGE_COLUMNS if n in images), images[0] if images else None
        )
        mask = opts.get("mask") or next((n for n in MASK_COLUMNS if n in names), None)
        if mask is None:
            others = [n for n in images if n != image]
            mask = others[0] if len(others) == 1 else None
        for role, col in (("image", image), ("mask", mask)):
            if col is None or col not in names:
                raise DatasetError(
                    f"{self.spec.text}: no {role} column found (columns: {', '.join(names)}); "
                    f"name it with ?{role}=COLUMN"
                )
        ident = opts.get("id") or next((n for n in ID_COLUMNS if n in names), None)
        if ident is not None and ident not in names:
            raise DatasetError(f"{self.spec.text}: no id column {ident!r} ({', '.join(names)})")
        return image, mask, ident

    def iter_pairs(self, root: Path | None = None) -> Iterator[Pair | Reject]:
        import datasets

        rows: list[tuple[str, str, Path | None, Path | None, str]] = []
        items: list[Pair | Reject] = []
        for split, ds in sorted(self._load().items()):
            image_col, mask_col, id_col = self.columns(ds)
            for col in (image_col, mask_col):
                if _is_image_feature(ds.features[col]):
                    ds = ds.cast_column(col, datasets.Image(decode=False))
            for index, row in enumerate(ds):
                ident = row[id_col] if id_col else f"{index:06d}"
                stem = f"{split}/{_clean(str(ident))}"
                shown = f"{self.spec.location}[{split}][{index}]"
                image = self._write(
                    row[image_col], f"hf/{split}/{index}.image", f"{shown}.{image_col}"
                )
                mask = self._write(row[mask_col], f"hf/{split}/{index}.mask", f"{shown}.{mask_col}")
                rows.append((split, stem, image, mask, shown))
        self.resolve_auto([m for *_, m, _ in rows if m is not None])
        for split, stem, image, mask, shown in rows:
            if image is None:
                items.append(self.reject(shown, "image-missing", "row has no image"))
            elif mask is None:
                items.append(self.reject(shown, "mask-missing", "row has no mask"))
            elif self.mask_type == "instances":
                items.extend(self.instance_pairs(image, mask, split, stem, shown))
            else:
                items.append(Pair(image, mask, split, stem))
        self.splits = tuple(sorted(self._load()))
        yield from items

    def _write(self, value, rel: str, shown: str) -> Path | None:
        """The cell's image bytes as a file in the work folder, or None when it is empty."""
        data = None
        if isinstance(value, dict):
            data = value.get("bytes")
            if data is None and value.get("path"):
                try:
                    data = read_regular(value["path"])  # a FIFO there: no hang
                except OSError:
                    data = None
        elif isinstance(value, bytes | bytearray):
            data = bytes(value)
        elif value is not None:
            arr = np.asarray(value)
            if arr.ndim == 2 and arr.size:
                data = png_bytes(arr.astype(np.uint8)) if arr.max() <= 255 else _png16(arr)
        if data is None:
            return None
        return self.derived(rel, data, shown)


def _png16(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def _split_name(split: str) -> str:
    return re.sub(r"\W+", "_", str(split)) or "train"


def _clean(ident: str) -> str:
    """An id cell as a stem part: no extension, no leading slash, no odd characters."""
    stem = Path(ident).with_suffix("").as_posix() if Path(ident).suffix else ident
    return re.sub(r"[^\w./-]+", "_", stem).strip("/") or "_"
