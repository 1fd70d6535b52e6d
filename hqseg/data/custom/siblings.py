"""Records that share one image on purpose: the instances of one image.

A COCO file or an instance-id mask gives several records with the same image and
different masks (stems ``<image stem>/<object>``). They are not duplicates of each
other. Deduplication therefore sees one representative per image (the first
sibling by id) and its decision (kept, dropped, leak) applies to every sibling; the
duplicates table lists each sibling with its representative's row.
"""

from __future__ import annotations

from hqseg.data.dedup import DedupResult, Entry


def origin(entry: Entry) -> str:
    """The image a sibling comes from: its id without the last part."""
    return entry.id.rsplit("/", 1)[0]


def collapse(entries: list[Entry], instance_sources: set[str]):
    """(entries with one representative per image of ``instance_sources``,
    representative id -> ids of its other siblings)."""
    kept: list[Entry] = []
    rep_of: dict[tuple[str, str], str] = {}
    siblings: dict[str, list[str]] = {}
    for e in sorted(entries, key=lambda e: e.id):
        if e.source not in instance_sources:
            kept.append(e)
            continue
        key = (e.source, origin(e))
        if key in rep_of:
            siblings[rep_of[key]].append(e.id)
        else:
            rep_of[key] = e.id
            siblings[e.id] = []
            kept.append(e)
    return kept, siblings


def expand(result: DedupResult, siblings: dict[str, list[str]]) -> DedupResult:
    """``result`` with every representative's row and drop repeated for its siblings."""
    rows, dropped = [], set(result.dropped)
    for row in result.rows:
        rows.append(row)
        for sib in siblings.get(row["id"], []):
            rows.append({**row, "id": sib})
            if row["id"] in result.dropped:
                dropped.add(sib)
    return DedupResult(rows, dropped)
