"""Reading HQSeg-44K records back: the build folder through ``datasets``, decoded to arrays.

Training and evaluation both go through here, so they see the same pixels.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hqseg.errors import DatasetError


def _to_pil(value: Any) -> Image.Image:
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return Image.open(io.BytesIO(value["bytes"]))
        if value.get("path"):
            return Image.open(value["path"])
    if isinstance(value, bytes | bytearray):
        return Image.open(io.BytesIO(value))
    raise DatasetError(f"cannot decode image value of type {type(value).__name__}")


def decode_image(value: Any) -> np.ndarray:
    """Decode a record's ``image`` to an RGB array of shape (H, W, 3), uint8."""
    return np.asarray(_to_pil(value).convert("RGB"))


def decode_mask(value: Any) -> np.ndarray:
    """Decode a record's ``mask`` to a grey-level array of shape (H, W), uint8 (0..255)."""
    return np.asarray(_to_pil(value).convert("L"))


class MissingSplitError(DatasetError):
    """The build folder has no such config or split (the others may be fine)."""


def check_build_folder(folder: str | Path) -> Path:
    """``folder`` as a Path, if it looks like a ``hqseg build`` folder (has its card).

    Raises:
        DatasetError: there is no README.md card, or it lacks its ``configs:`` list.
    """
    import yaml

    from hqseg.data.card import parse_front_matter

    folder = Path(folder)
    card = folder / "README.md"
    if not card.is_file():
        raise DatasetError(
            f"{folder} is not a hqseg build folder (no README.md card); run `hqseg build` first"
        )
    # Without a `configs:` list, datasets would guess splits from file names and could
    # silently mix evaluation shards into training.
    try:
        meta = parse_front_matter(card.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())  # YAML errors span several lines
        raise DatasetError(
            f"{card}: damaged dataset card ({problem}); rebuild with `hqseg build`"
        ) from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("configs"), list):
        raise DatasetError(
            f"{card}: dataset card has no `configs:` list in its YAML front matter; "
            "rebuild with `hqseg build`"
        )
    return folder


def build_configs(folder: str | Path) -> dict[str, dict[str, list[str]]]:
    """``{config: {split: [data file, ...]}}`` of a build folder, from its card.

    Raises:
        DatasetError: as :func:`check_build_folder`.
    """
    from hqseg.data.card import parse_front_matter

    card = check_build_folder(folder) / "README.md"
    out: dict[str, dict[str, list[str]]] = {}
    for config in parse_front_matter(card.read_text(encoding="utf-8"))["configs"]:
        files = config.get("data_files") or []
        out[config["config_name"]] = {
            f["split"]: [f["path"]] if isinstance(f["path"], str) else list(f["path"])
            for f in files
        }
    return out


def split_counts(folder: str | Path) -> dict[str, dict[str, int]]:
    """``{config: {split: records}}`` as a build folder's card lists them (its
    ``dataset_info``), without loading any data; ``{}`` when the card is missing or
    unreadable (loading the data reports that properly)."""
    from hqseg.data.card import parse_front_matter

    try:
        meta = parse_front_matter((Path(folder) / "README.md").read_text(encoding="utf-8"))
        return {
            info["config_name"]: {s["name"]: int(s["num_examples"]) for s in info["splits"]}
            for info in meta.get("dataset_info") or []
        }
    except Exception:  # noqa: BLE001  (a start-up line must not fail on a bad card)
        return {}


def load_split(folder: str | Path, config: str = "default", split: str = "train"):
    """Load one split of a ``hqseg build`` folder as a ``datasets.Dataset``.

    Raises:
        MissingSplitError: the config or split does not exist (naming what does).
        DatasetError: the folder is not a build folder, a shard listed in the card is
            missing, or a shard is corrupt or truncated (naming it).
    """
    import datasets
    import pyarrow as pa
    from datasets.exceptions import DatasetGenerationError

    from hqseg.utils.progress import quiet_library_bars

    folder = check_build_folder(folder)
    where = f"{folder}: cannot load config {config!r} split {split!r}"
    quiet_library_bars()
    try:
        return datasets.load_dataset(
            str(folder), config, split=split, cache_dir=str(_cache_dir(folder))
        )
    except (
        DatasetGenerationError,
        pa.ArrowException,
    ) as exc:  # before ValueError: ArrowInvalid is one
        cause = exc.__cause__ or exc
        bad = ", ".join(str(p) for p in _unreadable_shards(folder)) or "a shard"
        raise DatasetError(
            f"{where}: {bad} corrupt or truncated ({type(cause).__name__}: {cause}); "
            "rebuild with `hqseg build`"
        ) from exc
    except ValueError as exc:  # unknown config or split
        raise MissingSplitError(f"{where}: {exc}") from exc
    except FileNotFoundError as exc:  # a shard named by the card was deleted
        found = re.search(r"Unable to find '([^']+)'", str(exc))  # then a long extension list
        missing = found.group(1) if found else (exc.filename or str(exc))
        raise DatasetError(
            f"{where}: shard {missing} is missing; rebuild with `hqseg build`"
        ) from exc


def _cache_dir(folder: Path) -> Path:
    """A datasets cache folder keyed by the build's files (path, size, mtime).

    datasets keys its cache of a local folder by the folder's name and config, not by
    the files' contents: a rebuilt or damaged folder would be read from the stale cache.
    """
    import hashlib

    import datasets

    digest = hashlib.sha256(str(folder.resolve()).encode())
    for path in sorted([folder / "README.md", *folder.rglob("*.parquet")]):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return Path(datasets.config.HF_DATASETS_CACHE) / "hqseg" / digest.hexdigest()[:16]


def _unreadable_shards(folder: Path) -> list[Path]:
    """The parquet files under ``folder`` whose footer cannot be read."""
    import pyarrow.parquet as pq

    bad = []
    for path in sorted(folder.rglob("*.parquet")):
        try:
            pq.read_metadata(path)
        except Exception:  # noqa: BLE001 - any failure means the file is unusable
            bad.append(path)
    return bad
