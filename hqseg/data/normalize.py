"""Normalise one raw source into record shards: ``data/normalized/<source>/``.

The output folder (written atomically, so it is complete or absent) holds:

* ``<split>-NNNNN-of-NNNNN.parquet``: records (:data:`hqseg.data.schema.RECORD_COLUMNS`),
  ready to be linked into the build folder unchanged;
* ``hashes.parquet``: ``id``, ``split``, ``sha256``, ``width``, ``height``, ``phash``
  per record: what duplicate detection reads (small);
* ``rejects.csv``: every input file that did not become a record (download and
  extraction rejects, layout rejects from the source adapter, pixel-level rejects
  from :mod:`hqseg.data.convert`), with path, reason, detail and source;
* ``summary.json``: counts per split, rejects per reason, warnings, settings.

Pairs are decoded by a process pool in input order with bounded look-ahead
(:func:`hqseg.data.parallel.bounded_map`) and written as they arrive, so memory
does not grow with the source. Workers send back only what they computed; bytes
kept unchanged from a file are read again here (from the page cache), cheaper than
sending them through a pipe.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hqseg.data.adapter import SourceAdapter
from hqseg.data.convert import SIZE_MISMATCH_MODES, Converted, convert_pair
from hqseg.data.parallel import bounded_map
from hqseg.data.pixels import worker_init
from hqseg.data.rejects import FILENAME as REJECTS_FILE
from hqseg.data.rejects import count_by_reason, write_rejects
from hqseg.data.schema import Pair, Reject
from hqseg.data.shards import ShardWriter, record_schema
from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_json
from hqseg.utils.outdir import output_dir
from hqseg.utils.procs import usable_cores

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
HASHES_FILE = "hashes.parquet"
HASHES_SCHEMA = pa.schema(
    [("id", pa.string()), ("split", pa.string()), ("sha256", pa.string()),
     ("width", pa.int32()), ("height", pa.int32()), ("phash", pa.string())]
)  # fmt: skip
HASH_COLUMNS = tuple(HASHES_SCHEMA.names)


def get_source(name: str):
    """The source adapter ``name`` (clear error listing known names if unknown)."""
    from hqseg.data.sources import get_source as _get

    return _get(name)


def download_rejects(raw_dir: Path, source: str) -> list[Reject]:
    """Rejects recorded by ``hqseg download`` while extracting ``source`` (maybe none)."""
    try:
        from hqseg.data.download import manifest_rejects
    except ImportError:
        return []
    try:
        found = manifest_rejects(Path(raw_dir) / source)
    except DatasetError:  # not a `hqseg download` folder (e.g. made by hand): nothing recorded
        return []
    return [Reject(r.path, r.reason, r.detail, r.source or source) for r in found]


def _mask_kind(adapter: SourceAdapter) -> str:
    return "object_ids" if adapter.mask_kind == "object_ids" else "grey"


def _relative(reject: Reject, root: Path, source: str) -> Reject:
    """The reject with its path relative to the source's raw folder (stable across machines)."""
    path = Path(reject.path)
    if path.is_absolute() and path.is_relative_to(root):
        path = path.relative_to(root)
    return Reject(path.as_posix(), reject.reason, reject.detail, reject.source or source)


def _unique_pairs(items: Iterable[Pair | Reject], source: str, rejects: list[Reject]):
    """Split adapter output into pairs and rejects; a repeated stem is a reject."""
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        elif item.stem in seen:
            rejects.append(
                Reject(str(item.image), "duplicate-id", f"stem {item.stem!r} repeats", source)
            )
        else:
            seen.add(item.stem)
            yield item


def normalize_source(
    source: str,
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size_mismatch: str = "reject",
    workers: int | None = None,
    progress: bool = True,
    adapter: SourceAdapter | None = None,
) -> dict:
    """Normalise ``raw_dir/<source>`` into ``out_dir/<source>``; return the summary.

    Args:
        adapter: a custom source (:mod:`hqseg.data.custom`) to read instead of the
            registered adapter of ``source``; ``raw_dir`` is then unused.
        size_mismatch: ``"reject"`` image/mask size mismatches, or ``"resize"`` the
            mask to the image (nearest neighbour) with a warning.
        workers: decoding processes (default: all cores; 1 = in this process).

    Raises:
        DatasetError: unknown source, raw folder missing, or no recognisable layout.
    """
    from hqseg.utils.progress import progress_bar

    if size_mismatch not in SIZE_MISMATCH_MODES:
        raise DatasetError(
            f"size_mismatch must be one of {SIZE_MISMATCH_MODES}, not {size_mismatch!r}"
        )
    adapter, root, rejects = _open_input(source, raw_dir, adapter)
    workers = usable_cores() if workers is None else workers
    pairs = list(_unique_pairs(adapter.iter_pairs(root), source, rejects))
    inputs = len(pairs) + len(rejects)  # = records + rejects once converted
    work = functools.partial(
        convert_pair,
        source,
        size_mismatch=size_mismatch,
        mask_kind=_mask_kind(adapter),
        defer_file_bytes=workers > 1,  # re-reading a cached file beats piping its bytes here
    )
    with output_dir(Path(out_dir) / source, "normalize") as tmp:
        results = bounded_map(work, pairs, workers=workers, chunksize=8, initializer=worker_init)
        bar = progress_bar(
            results, total=len(pairs), desc=f"normalize {source}", unit="pair", bar=progress
        )
        splits, hashes, warnings = _write_outcomes(tmp, bar, rejects, root, source)
        pq.write_table(pa.table(hashes, schema=HASHES_SCHEMA), tmp / HASHES_FILE)
        write_rejects(tmp / REJECTS_FILE, [_relative(r, root, source) for r in rejects])
        summary = {
            "source": source,
            "inputs": inputs,
            "pairs_found": len(pairs),
            "records": sum(splits.values()),
            "splits": splits,
            "rejects": len(rejects),
            "rejects_by_reason": count_by_reason(rejects),
            "warnings": warnings,
            "size_mismatch": size_mismatch,
            "mask_kind": _mask_kind(adapter),
        }
        write_json(tmp / SUMMARY_FILE, summary)
    return summary


def _open_input(source: str, raw_dir: str | os.PathLike, adapter) -> tuple[Any, Path, list]:
    """(adapter, resolved root folder, the download's rejects) of what is normalised."""
    if adapter is not None:
        return adapter, Path(adapter.root).resolve(), []
    adapter = get_source(source)
    root = (Path(raw_dir) / source).resolve()
    if not root.is_dir():
        raise DatasetError(
            f"{root}: raw folder of {source} not found; run `hqseg download {source}`"
        )
    return adapter, root, download_rejects(Path(raw_dir), source)


def _write_outcomes(
    tmp: Path, outcomes, rejects: list[Reject], root: Path, source: str
) -> tuple[dict[str, int], dict[str, list], list[str]]:
    """Write converted pairs to one shard series per split, in arrival order; add the
    failed ones to ``rejects``. Returns (split -> rows, hash columns, warnings)."""
    schema = record_schema()
    warnings: list[str] = []
    hashes: dict[str, list] = {name: [] for name in HASH_COLUMNS}
    writers: dict[str, ShardWriter] = {}
    for outcome in outcomes:
        if isinstance(outcome, Converted):
            outcome.load_deferred()
            split = outcome.row["split"]
            if split not in writers:
                writers[split] = ShardWriter(tmp, split, schema)
            for name in HASH_COLUMNS:
                hashes[name].append(outcome.row[name])
            writers[split].write({k: outcome.row[k] for k in schema.names})
            warnings.extend(outcome.warnings)
        else:
            rejects.append(_relative(outcome, root, source))
    for message in warnings:
        log.warning(message)
    splits = {}
    for split, writer in sorted(writers.items()):
        writer.close()
        splits[split] = writer.num_rows
    return splits, hashes, warnings


def read_summary(folder: str | os.PathLike) -> dict | None:
    """The ``summary.json`` of a normalised source folder, or None if it is not complete."""
    import json

    path = Path(folder) / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{path}: unreadable normalisation summary: {exc!r}") from exc
