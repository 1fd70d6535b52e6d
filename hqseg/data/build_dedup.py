"""Deduplicate a planned build: which records it leaves out, and why.

The second step of :func:`hqseg.data.build.build`. Reads only each normalised
source's small ``hashes.parquet``; images are decoded only for the records whose
cheap keys collide (:func:`hqseg.data.dedup.exact_keys`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hqseg.data.build_plan import BuildPlan
from hqseg.data.custom.siblings import collapse, expand
from hqseg.data.dedup import DedupResult, Entry, exact_keys, find_duplicates
from hqseg.data.exclude import Excluded, check_known
from hqseg.data.fingerprints import pixel_digest
from hqseg.data.normalize import HASHES_FILE
from hqseg.data.presets import HQ_EVAL
from hqseg.data.shards import iter_tables, list_shards, read_parquet
from hqseg.errors import DatasetError


@dataclass
class Deduplicated:
    """The records a build leaves out.

    Attributes:
        result: duplicate groups, leaks and the ids dropped as duplicates.
        excluded: the records the exclude list named (in source order).
        dropped: every id left out (duplicates and excluded), a sorted string array.
    """

    result: DedupResult
    excluded: list[Excluded]
    dropped: pa.Array


def deduplicate(
    plan: BuildPlan, *, mode: str, near_threshold: int, exclude: str | None
) -> Deduplicated:
    """Find duplicates and leaks among the plan's records, after the excluded ones.

    Args:
        mode: ``"drop"`` or ``"keep"`` (:data:`hqseg.data.dedup.DEDUP_MODES`).
        exclude: the exclude list's path (named by the error for an unknown id).

    Raises:
        DatasetError: a missing ``hashes.parquet``, or an excluded id no source has.
    """
    preset, added, wanted = plan.preset, plan.added, plan.wanted
    hq_eval_splits = {pair: name for name, pair in HQ_EVAL.items()}
    instance_sources = {n for n, s in added.items() if s.get("instances")}
    entries = _entries(plan.folders, _hash_tables(plan.folders, plan.summaries))
    check_known(exclude, wanted, (e.id for e in entries))
    excluded = [Excluded(e.id, e.source, e.split, wanted[e.id]) for e in entries if e.id in wanted]
    entries = [e for e in entries if e.id not in wanted]  # before dedup: keep their duplicates
    entries, siblings = collapse(entries, instance_sources)
    result = find_duplicates(
        entries,
        is_train=lambda e: preset.is_train(e.source, e.split),
        is_hq_eval=lambda e: (
            (e.source, e.split) in hq_eval_splits
            or (e.source in added and not preset.is_train(e.source, e.split))
        ),
        source_rank=preset.source_rank,
        mode=mode,
        near_threshold=near_threshold,
    )
    result = expand(result, siblings)
    dropped = pa.array(sorted(result.dropped | set(wanted)), type=pa.string())
    return Deduplicated(result, excluded, dropped)


def _hash_tables(folders: dict[str, Path], summaries: dict[str, dict]) -> dict[str, pa.Table]:
    """Each source's ``hashes.parquet`` (id, split, sha256, width, height, phash)."""
    out = {}
    for source in summaries:
        path = folders[source] / HASHES_FILE
        if not path.is_file():
            raise DatasetError(f"{path} missing: re-run `hqseg normalize {source}`")
        out[source] = read_parquet(path)
    return out


def _pixel_digests(folders: dict[str, Path], tables: dict[str, pa.Table], ids: set[str]):
    """Decode the images of ``ids`` from the normalised shards: ``id -> pixel digest``."""
    from PIL import Image

    wanted = pa.array(sorted(ids), type=pa.string())
    digests = {}
    for source, table in tables.items():
        splits = set(table.filter(pc.is_in(table["id"], value_set=wanted))["split"].to_pylist())
        for split in sorted(splits):
            for part in iter_tables(list_shards(folders[source], split), ["id", "image"]):
                part = part.filter(pc.is_in(part["id"], value_set=wanted))
                for rid, image in zip(
                    part["id"].to_pylist(), part["image"].to_pylist(), strict=True
                ):
                    digests[rid] = pixel_digest(Image.open(io.BytesIO(image["bytes"])))
    return digests


def _entries(folders: dict[str, Path], tables: dict[str, pa.Table]) -> list[Entry]:
    rows = [
        (source, r)
        for source, table in tables.items()
        for r in table.select(["id", "split", "sha256", "width", "height", "phash"]).to_pylist()
    ]
    keys = exact_keys(
        ((r["id"], r["sha256"], r["width"], r["height"], r["phash"]) for _, r in rows),
        lambda ids: _pixel_digests(folders, tables, ids),
    )
    return [Entry(r["id"], source, r["split"], keys[r["id"]], r["phash"]) for source, r in rows]
