"""Streaming parquet shards: rows go in one at a time, files come out by size.

A :class:`ShardWriter` writes one split of one source as
``<folder>/<split>-NNNNN-of-NNNNN.parquet``, the naming the Hugging Face Hub and
``datasets`` expect. Rows are buffered only up to one row group (``group_rows``
rows or ``group_bytes`` bytes), so memory does not grow with the dataset. The
total shard count is known only at the end, so shards are written under a
temporary name and renamed by :meth:`ShardWriter.close`; callers write the whole
folder inside :func:`hqseg.utils.atomic.atomic_dir`, so partial output is never
visible.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hqseg.errors import DatasetError

DEFAULT_SHARD_BYTES = 500 * 1024**2
#: Images and masks are compressed files already: parquet compression, dictionary
#: encoding and min/max statistics on them only cost CPU (together 10x the rest of
#: the write), so dictionaries are limited to the small text columns and no
#: statistics are written (nothing filters on them).
_WRITE_OPTIONS = {
    "compression": "none",
    "use_dictionary": ["source", "split", "category"],
    "write_statistics": False,
}
DEFAULT_GROUP_ROWS = 100
DEFAULT_GROUP_BYTES = 64 * 1024**2


#: ``hqseg.data.schema.features()`` as (name, dtype or "Image"). ``datasets`` takes
#: seconds to import, so the schema and its Hub metadata are written out from this (a
#: test checks they equal ``features().arrow_schema`` byte for byte).
RECORD_FIELDS = (
    ("id", "string"), ("source", "string"), ("split", "string"), ("image", "Image"),
    ("mask", "Image"), ("width", "int32"), ("height", "int32"), ("category", "string"),
    ("sha256", "string"),
)  # fmt: skip


def record_schema() -> pa.Schema:
    """Arrow schema of a record (``hqseg.data.schema.features()``), with HF metadata."""
    import json

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [(n, image if t == "Image" else pa.type_for_alias(t)) for n, t in RECORD_FIELDS]
    hf = {
        n: {"_type": "Image"} if t == "Image" else {"dtype": t, "_type": "Value"}
        for n, t in RECORD_FIELDS
    }
    meta = json.dumps({"info": {"features": hf}})
    return pa.schema(fields, metadata={"huggingface": meta})


def shard_name(split: str, index: int, total: int) -> str:
    """``train-00000-of-00003.parquet`` style name."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def shard_glob(split: str) -> str:
    """Glob matching every shard of ``split`` written by :class:`ShardWriter`."""
    return f"{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].parquet"


def list_shards(folder: str | os.PathLike, split: str) -> list[Path]:
    """The shards of ``split`` in ``folder``, in order."""
    return sorted(Path(folder).glob(shard_glob(split)))


def _row_bytes(row: dict[str, Any]) -> int:
    size = 0
    for value in row.values():
        if isinstance(value, bytes | str):
            size += len(value)
        elif isinstance(value, dict):
            size += sum(len(v) for v in value.values() if isinstance(v, bytes | str))
        else:
            size += 8
    return size


def _binary_array(values: list) -> pa.Array:
    """``pa.array(values, pa.binary())`` built at its exact size.

    Arrow's builder doubles its data buffer as it grows, so a 64 MB row group of
    images peaked at ~190 MB of Arrow memory (old and new buffer during the last copy);
    joining the bytes once and viewing them needs just the joined copy.
    """
    if any(v is None for v in values):  # nulls: let Arrow build the validity bitmap
        return pa.array(values, pa.binary())
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:  # binary offsets are int32
        return pa.array(values, pa.binary())
    data = pa.py_buffer(b"".join(values))
    return pa.Array.from_buffers(
        pa.binary(), len(values), [None, pa.py_buffer(offsets.astype(np.int32)), data]
    )


def _column(values: list, type_: pa.DataType) -> pa.Array:
    """One column of :func:`_rows_to_table`: struct fields built one by one, binary
    ones at their exact size (:func:`_binary_array`)."""
    if pa.types.is_binary(type_):
        return _binary_array(values)
    if pa.types.is_struct(type_) and all(isinstance(v, dict) for v in values):
        children = [
            _column([v.get(f.name) for v in values], f.type)
            for f in (type_.field(i) for i in range(type_.num_fields))
        ]
        return pa.StructArray.from_arrays(children, fields=list(type_))
    return pa.array(values, type_)


def _rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=schema)`` with image bytes copied once."""
    columns = [_column([r.get(f.name) for r in rows], f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


class ShardWriter:
    """Write rows of ``schema`` to size-bounded parquet shards of one split.

    Args:
        folder: output folder (created).
        split: split name, the shard file prefix.
        schema: arrow schema of the rows (see :func:`record_schema`).
        max_shard_bytes: start a new shard once this many payload bytes were written.
        group_rows / group_bytes: flush a parquet row group at either bound.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        split: str,
        schema: pa.Schema,
        *,
        max_shard_bytes: int = DEFAULT_SHARD_BYTES,
        group_rows: int = DEFAULT_GROUP_ROWS,
        group_bytes: int = DEFAULT_GROUP_BYTES,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.schema = schema
        self.max_shard_bytes = max_shard_bytes
        self.group_rows = group_rows
        self.group_bytes = group_bytes
        self.num_rows = 0
        self.num_bytes = 0
        self._parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0
        self._buffer: list[dict[str, Any]] = []
        self._buffer_bytes = 0

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (a dict with the schema's columns)."""
        self._buffer.append(row)
        self._buffer_bytes += _row_bytes(row)
        if len(self._buffer) >= self.group_rows or self._buffer_bytes >= self.group_bytes:
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Append a table of rows already in the schema (used when copying shards)."""
        if table.num_rows == 0:
            return
        self._flush()
        self._write(table.select(self.schema.names).cast(self.schema), table.nbytes)

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = _rows_to_table(self._buffer, self.schema)
        size = self._buffer_bytes
        self._buffer, self._buffer_bytes = [], 0
        self._write(table, size)
        del table  # its large buffers go back before the next row group is gathered

    def _write(self, table: pa.Table, size: int) -> None:
        if self._writer is None:
            part = self.folder / f".{self.split}-part-{len(self._parts):05d}.parquet.tmp"
            self._parts.append(part)
            self._writer = pq.ParquetWriter(part, self.schema, **_WRITE_OPTIONS)
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.num_rows += table.num_rows
        self.num_bytes += size
        self._shard_bytes += size
        if self._shard_bytes >= self.max_shard_bytes:
            self._writer.close()
            self._writer, self._shard_bytes = None, 0

    def close(self) -> list[Path]:
        """Flush, close and rename the parts to their final names; returns them (maybe none)."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        final = []
        for index, part in enumerate(self._parts):
            target = self.folder / shard_name(self.split, index, len(self._parts))
            os.replace(part, target)
            final.append(target)
        self._parts = []
        return final

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()


RENORMALIZE = "re-run `hqseg normalize` for its source"
"""What mends a damaged normalised shard (the default remedy of the readers below)."""
REBUILD = "rebuild with `hqseg build`"
"""What mends a damaged shard of a build folder."""


def corrupt_error(path: Path, exc: Exception, remedy: str = RENORMALIZE) -> DatasetError:
    """The one-line error for a damaged parquet file: its path, the cause, ``remedy``."""
    return DatasetError(f"{path}: corrupt or truncated parquet file ({exc}); {remedy}")


def open_parquet(path: Path, remedy: str = RENORMALIZE) -> pq.ParquetFile:
    """Open a parquet file; a damaged one is a :class:`DatasetError` naming it and
    ``remedy`` (what the user runs to mend it)."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise corrupt_error(path, exc, remedy) from exc


def read_parquet(path: Path) -> pa.Table:
    """Read a whole (small) parquet file; a damaged one is a :class:`DatasetError` naming it."""
    try:
        return open_parquet(path).read()
    except (pa.ArrowException, OSError) as exc:
        raise corrupt_error(path, exc) from exc


def iter_tables(paths: Iterable[Path], columns: list[str] | None = None) -> Iterator[pa.Table]:
    """Stream the row groups of ``paths`` as tables (one row group in memory at a time)."""
    for path in paths:
        parquet = open_parquet(path)
        for index in range(parquet.num_row_groups):
            try:
                table = parquet.read_row_group(index, columns=columns)
            except (pa.ArrowException, OSError) as exc:
                raise corrupt_error(path, exc) from exc
            yield table


def count_rows(paths: Iterable[Path], remedy: str = RENORMALIZE) -> int:
    """Total rows of parquet files, from their footers."""
    return sum(open_parquet(p, remedy).metadata.num_rows for p in paths)
