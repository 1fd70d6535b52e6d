"""The rejects file: every input file that did not become a record, with its reason.

``rejects.csv`` has the columns :data:`COLUMNS` (path, reason, detail, source), one
row per rejected file, sorted by source then path so runs are comparable.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from hqseg.data.schema import Reject
from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_text

COLUMNS = ("path", "reason", "detail", "source")
FILENAME = "rejects.csv"


def write_rejects(path: str | os.PathLike, rejects: Iterable[Reject]) -> None:
    """Atomically write ``rejects`` (sorted by source, path, reason) as CSV."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(rejects, key=lambda r: (r.source, r.path, r.reason)):
        writer.writerow([r.path, r.reason, r.detail, r.source])
    write_text(path, buf.getvalue())


def read_rejects(path: str | os.PathLike) -> list[Reject]:
    """Read a rejects CSV written by :func:`write_rejects`."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise DatasetError(f"{path}: expected columns {COLUMNS}, got {reader.fieldnames}")
            return [Reject(r["path"], r["reason"], r["detail"], r["source"]) for r in reader]
    except FileNotFoundError:
        raise DatasetError(f"{path}: rejects file not found") from None


def count_by_reason(rejects: Iterable[Reject]) -> dict[str, int]:
    """``{reason: count}``, most frequent first."""
    return dict(Counter(r.reason for r in rejects).most_common())
