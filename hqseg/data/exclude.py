"""The exclude list a build honours (``hqseg build --exclude FILE``).

The file is a CSV with a header: an ``id`` column (record ids, ``<source>/<stem>``)
and optionally ``reason`` (or ``reasons``, as in ``hqseg audit``'s ``audit.csv``);
other columns are ignored, so the reviewed top of ``audit.csv`` can be passed as it
is. Every listed id must be a record of the build's sources: an unknown id is an
error naming it. Excluded records leave the build before deduplication (so a
duplicate of an excluded record is kept), are counted in the conservation
(inputs = records + rejects + dropped duplicates + excluded), listed in the build's
``excluded.csv`` and summarised on its card.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_text

FILENAME = "excluded.csv"
COLUMNS = ("id", "source", "split", "reason")
REASON_COLUMNS = ("reason", "reasons")  # the first present is used
NO_REASON = "no reason given"
CARD_ROWS = 50  # the card lists this many ids; excluded.csv holds them all


@dataclass(frozen=True)
class Excluded:
    """One excluded record: its id, where it was, and why."""

    id: str
    source: str
    split: str
    reason: str


def read_exclude(path: str | os.PathLike) -> dict[str, str]:
    """``{id: reason}`` from an exclude CSV, in file order (see the module doc).

    Raises:
        DatasetError: unreadable or malformed file, no ``id`` column, a row with
            the wrong number of fields or an empty id, or an id listed twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the exclude list: {exc}") from None
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(rows, [])]
        if "id" not in header:
            raise DatasetError(
                f"{path}: the exclude list needs an `id` column (and optionally "
                f"`reason`); its header is {','.join(header) or '(empty file)'!r}"
            )
        return _parse(path, header, rows)
    except csv.Error as exc:
        raise DatasetError(f"{path}: malformed CSV at line {rows.line_num}: {exc}") from None


def _parse(path: Path, header: list[str], rows: Iterable[list[str]]) -> dict[str, str]:
    id_col = header.index("id")
    reason_col = next((header.index(c) for c in REASON_COLUMNS if c in header), None)
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row:  # a blank line
            continue
        if len(row) != len(header):
            raise DatasetError(
                f"{path}: line {line} has {len(row)} fields, the header has {len(header)}"
            )
        rid = row[id_col].strip()
        if not rid:
            raise DatasetError(f"{path}: line {line} has an empty id")
        if rid in out:
            raise DatasetError(
                f"{path}: id {rid!r} is listed twice (lines {first_line[rid]} and {line})"
            )
        reason = " ".join(row[reason_col].split()) if reason_col is not None else ""
        out[rid] = reason or NO_REASON
        first_line[rid] = line
    return out


def check_known(path: str | os.PathLike, wanted: dict[str, str], known: Iterable[str]) -> None:
    """Refuse ids of ``wanted`` that are not in ``known`` (the records of the build's sources).

    Raises:
        DatasetError: naming the unknown ids (the first ten, then how many more).
    """
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DatasetError(
            f"{path}: {len(unknown)} id(s) to exclude are not records of this build's "
            f"sources: {', '.join(unknown[:10])}{more} (ids are <source>/<stem>, as in audit.csv)"
        )


def write_excluded(path: str | os.PathLike, rows: Iterable[Excluded]) -> None:
    """Atomically write the build's ``excluded.csv`` (:data:`COLUMNS`, sorted by id)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: r.id):
        writer.writerow([r.id, r.source, r.split, r.reason])
    write_text(path, buf.getvalue())


def count_by_source(rows: Iterable[Excluded]) -> dict[str, int]:
    """``{source: excluded records}``."""
    return dict(Counter(r.source for r in rows))


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def card_section(rows: list[Excluded], file_name: str) -> str:
    """The card's "Excluded records" section: counts per source and reason, then the ids."""
    by_reason = Counter((r.source, r.reason) for r in rows)
    listed = sorted(rows, key=lambda r: r.id)[:CARD_ROWS]
    more = len(rows) - len(listed)
    return (
        "## Excluded records\n"
        f"{len(rows):,} record(s) were left out because the exclude list `{_cell(file_name)}` "
        "names them (e.g. the reviewed suspects of `hqseg audit`), before deduplication. "
        f"All are listed in `{FILENAME}`.\n\n"
        "| source | reason | records |\n|---|---|---|\n"
        + "\n".join(f"| {s} | {_cell(why)} | {n:,} |" for (s, why), n in sorted(by_reason.items()))
        + "\n\n| id | split | reason |\n|---|---|---|\n"
        + "\n".join(f"| `{_cell(r.id)}` | {r.split} | {_cell(r.reason)} |" for r in listed)
        + (f"\n\n… and {more:,} more in `{FILENAME}`." if more else "")
    )
