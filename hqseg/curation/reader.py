"""The records of a build folder as a stream of encoded rows, in a fixed order.

The audit reads the parquet shards named by the card's ``configs:`` directly, in
batches, without the ``datasets`` cache: memory stays flat in the number of records and
nothing is written outside the audit's ``--out``. Each shard is read once even when
several configs list it (``default`` and ``hq_eval`` repeat the per-source shards).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hqseg.data import shards as shards_io
from hqseg.data.card import parse_front_matter
from hqseg.data.records import check_build_folder
from hqseg.errors import DatasetError

COLUMNS = ("id", "source", "split", "image", "mask")
BATCH = 16


@dataclass(frozen=True)
class EncodedRecord:
    """One record as stored: ``image`` and ``mask`` are the build's encoded values
    (``{"bytes": ..., "path": ...}``), decoded with :mod:`hqseg.data.records`."""

    id: str
    source: str
    split: str
    image: object
    mask: object


def shards(folder: str | Path, config: str | None = None) -> list[Path]:
    """The parquet shards of ``config`` (None: every config), each once, in card order.

    Raises:
        DatasetError: not a build folder, no such config (naming those there are), or a
            shard the card names is missing.
    """
    folder = check_build_folder(folder)
    configs = parse_front_matter((folder / "README.md").read_text(encoding="utf-8"))["configs"]
    names = [c.get("config_name") for c in configs if isinstance(c, dict)]
    if config is not None and config not in names:
        raise DatasetError(f"{folder}: no config {config!r}; the build has: {', '.join(names)}")
    found: list[Path] = []
    for entry in configs:
        if not isinstance(entry, dict) or config not in (None, entry.get("config_name")):
            continue
        for files in entry.get("data_files") or []:
            paths = files.get("path", []) if isinstance(files, dict) else []
            for rel in [paths] if isinstance(paths, str) else paths:
                path = (folder / rel).resolve()
                if folder.resolve() not in path.parents:
                    raise DatasetError(f"{folder}: card names a shard outside the build: {rel}")
                if not path.is_file():
                    raise DatasetError(
                        f"{folder}: shard {rel} is missing; rebuild with `hqseg build`"
                    )
                if path not in found:
                    found.append(path)
    return found


def count_rows(paths: list[Path]) -> int:
    """Rows in the shards, from their footers (no data read)."""
    return shards_io.count_rows(paths, shards_io.REBUILD)


def iter_records(paths: list[Path], sources: tuple[str, ...] = ()) -> Iterator[EncodedRecord]:
    """Every record of the shards, in order; only ``sources`` when given.

    Raises:
        DatasetError: a shard is corrupt or lacks the record columns.
    """
    import pyarrow as pa

    for path in paths:
        shard = shards_io.open_parquet(path, shards_io.REBUILD)
        missing = [c for c in COLUMNS if c not in shard.schema_arrow.names]
        if missing:
            raise DatasetError(f"{path}: not a hqseg record shard (no {', '.join(missing)} column)")
        try:
            for batch in shard.iter_batches(batch_size=BATCH, columns=list(COLUMNS)):
                for row in batch.to_pylist():
                    if not sources or row["source"] in sources:
                        yield EncodedRecord(**row)
        except (OSError, pa.ArrowException) as exc:
            raise shards_io.corrupt_error(path, exc, shards_io.REBUILD) from exc
