"""Compose normalised sources into the HQSeg-44K folder (a Hub dataset repo layout).

Output (written atomically: an interrupted build leaves the previous folder or
none, never one that looks complete)::

    OUT/README.md                                  card: configs, dataset_info, counts, terms
    OUT/data/<source>/<split>-NNNNN-of-NNNNN.parquet
    OUT/rejects.csv                                every input file that is not a record
    OUT/duplicates.csv                             duplicate groups, leaks, what was dropped
    OUT/excluded.csv                               records left out by ``--exclude``, and why
    OUT/stats.json                                 flat numbers for ``dvc metrics``

Configs: ``default`` (split ``train``: the preset's training composition), one per
source with its own splits, and ``hq_eval`` (``dis_vd``, ``coift``, ``hrsod``,
``thin``, whichever are present). Configs share the per-source shard files, so no
byte is stored twice.

The build streams: deduplication reads only the small ``hashes.parquet`` of each
normalised source; shards without dropped records are hard-linked unchanged, the
others rewritten one row group at a time.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hqseg.data.card import (
    LICENSE_FILE,
    ConfigFiles,
    public_source_info,
    render_card,
    render_license,
)
from hqseg.data.custom import normalize_custom
from hqseg.data.custom.compose import (
    added_section,
    conservation,
    custom_dir_default,
    resolve_added,
    source_info,
)
from hqseg.data.custom.siblings import collapse, expand
from hqseg.data.dedup import (
    DEDUP_MODES,
    NEAR_THRESHOLD,
    Entry,
    exact_keys,
    find_duplicates,
    write_duplicates,
)
from hqseg.data.exclude import FILENAME as EXCLUDED_FILE
from hqseg.data.exclude import Excluded, card_section, check_known, read_exclude, write_excluded
from hqseg.data.fingerprints import pixel_digest
from hqseg.data.normalize import HASHES_FILE, get_source, normalize_source, read_summary
from hqseg.data.presets import HQ_EVAL, Preset, get_preset
from hqseg.data.rejects import FILENAME as REJECTS_FILE
from hqseg.data.rejects import count_by_reason, read_rejects, write_rejects
from hqseg.data.shards import (
    ShardWriter,
    count_rows,
    iter_tables,
    list_shards,
    read_parquet,
    record_schema,
)
from hqseg.data.sources import source_names
from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_json, write_text
from hqseg.utils.outdir import check_replaceable, output_dir
from hqseg.utils.outfile import check_file_replaceable, write_owned_json

log = logging.getLogger(__name__)


def ensure_normalized(
    preset: Preset,
    normalized_dir: Path,
    raw_dir: Path,
    *,
    allow_missing: bool,
    size_mismatch: str | None,
    workers: int | None,
    progress: bool,
) -> tuple[dict[str, dict], list[str]]:
    """Summaries of the preset's normalised sources, normalising those only in raw.

    Returns:
        (source -> summary, missing source names).
    Raises:
        DatasetError: sources absent from both folders, unless ``allow_missing``.
    """
    summaries, missing = {}, []
    for source in preset.sources:
        summary = read_summary(normalized_dir / source)
        stale = (
            summary is not None
            and size_mismatch is not None
            and summary.get("size_mismatch") != size_mismatch
        )
        if stale:
            log.warning("re-normalising %s: it was normalised with size_mismatch=%s",
                        source, summary.get("size_mismatch"))  # fmt: skip
        if (summary is None or stale) and (raw_dir / source).is_dir():
            summary = normalize_source(
                source,
                raw_dir,
                normalized_dir,
                size_mismatch=size_mismatch or "reject",
                workers=workers,
                progress=progress,
            )
        if summary is None:
            missing.append(source)
        else:
            summaries[source] = summary
    if missing and not allow_missing:
        raise DatasetError(
            f"preset {preset.name!r} needs sources not found in {normalized_dir} or "
            f"{raw_dir}: {', '.join(missing)}. Run `hqseg download SOURCE` for each, "
            "or pass --allow-missing to build without them"
        )
    for source in missing:
        log.warning("building without %s (missing from %s and %s)", source, normalized_dir, raw_dir)
    return summaries, missing


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


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same filesystem: no bytes copied
    except OSError:
        shutil.copyfile(src, dst)


def _copy_split(
    src: list[Path], out: Path, split: str, dropped: pa.Array
) -> tuple[list[str], int, int]:
    """Put a split's shards in ``out`` minus dropped ids; returns (file names, rows, bytes).

    Shards without a dropped id are hard-linked (or copied) unchanged; otherwise the
    split is rewritten, one row group at a time.
    """
    out.mkdir(parents=True, exist_ok=True)
    hit = len(dropped) > 0 and any(
        pc.any(pc.is_in(t["id"], value_set=dropped)).as_py() for t in iter_tables(src, ["id"])
    )
    if not hit:
        for path in src:
            _link_or_copy(path, out / path.name)
        rows = count_rows(src)
        return [p.name for p in src], rows, sum(p.stat().st_size for p in src)
    writer = ShardWriter(out, split, record_schema())
    for table in iter_tables(src):
        writer.write_table(table.filter(pc.invert(pc.is_in(table["id"], value_set=dropped))))
    files = writer.close()
    return [f.name for f in files], writer.num_rows, writer.num_bytes


def _split_order(source: str, summary: dict) -> list[str]:
    """The source's splits in its adapter's order (train, val, tests), unknown ones last."""
    try:
        order = tuple(get_source(source).splits)
    except Exception:  # an unknown adapter only loses the ordering
        order = ()
    return sorted(summary["splits"], key=lambda s: (order.index(s) if s in order else 99, s))


def _from_sample(raw_dir: Path, sources) -> bool:
    """True if any source's raw folder was extracted from the embedded sample."""
    from hqseg.data.manifest import read_manifest

    return any((read_manifest(raw_dir / s) or {}).get("sample") for s in sources)


def build(
    preset_name: str,
    *,
    normalized_dir: str | os.PathLike = "data/normalized",
    raw_dir: str | os.PathLike = "data/raw",
    out: str | os.PathLike = "data/hqseg44k",
    dedup: str = "drop",
    near_threshold: int = NEAR_THRESHOLD,
    allow_missing: bool = False,
    size_mismatch: str | None = None,
    stats_out: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    add: Sequence[str] = (),
    licences: Sequence[str] = (),
    custom_dir: str | os.PathLike | None = None,
    exclude: str | os.PathLike | None = None,
) -> dict:
    """Build the HQSeg-44K folder ``out`` for ``preset_name``; return ``stats.json``'s content.

    Args:
        size_mismatch: for sources normalised by this call; None keeps existing
            normalised sources as they are and uses ``"reject"`` for missing ones; a
            value different from an existing source's setting re-normalises it.
        stats_out: also write ``stats.json`` here (DVC metrics must live outside
            the ``out`` folder, which is one DVC output).
        add: custom source specs (``folder:``, ``coco:``, ``hf:``; see
            :mod:`hqseg.data.custom`), composed with the preset (``"none"``: alone).
        licences: their licence texts (one for all, or one per spec).
        custom_dir: where custom sources are normalised (default: ``custom`` next
            to ``normalized_dir``).
        exclude: a CSV of record ids (and reasons) to leave out (:mod:`hqseg.data.exclude`).

    Raises:
        DatasetError: unknown preset or dedup mode, missing sources (see
            :func:`ensure_normalized`), nothing to build, or a bad exclude list.
    """
    from hqseg.utils.progress import progress_bar

    preset = get_preset(preset_name)
    specs = resolve_added(add, licences, source_names())
    if not preset.sources and not specs:
        raise DatasetError(f"preset {preset.name!r} builds only added sources: give --add SPEC")
    if dedup not in DEDUP_MODES:
        raise DatasetError(f"--dedup must be one of {DEDUP_MODES}, not {dedup!r}")
    check_replaceable(out, "build")  # before the work, not after it
    if stats_out is not None:
        check_file_replaceable(stats_out, "build", option="--stats-out")
    wanted = read_exclude(exclude) if exclude else {}
    normalized_dir, raw_dir = Path(normalized_dir), Path(raw_dir)
    summaries, missing = ensure_normalized(
        preset,
        normalized_dir,
        raw_dir,
        allow_missing=allow_missing,
        size_mismatch=size_mismatch,
        workers=workers,
        progress=progress,
    )
    folders = {s: normalized_dir / s for s in summaries}
    custom_dir = Path(custom_dir) if custom_dir else custom_dir_default(normalized_dir)
    added = {}
    for spec in specs:
        added[spec.name] = normalize_custom(
            spec, custom_dir, size_mismatch=size_mismatch, workers=workers,
            progress=progress,
        )  # fmt: skip
        folders[spec.name] = custom_dir / spec.name
    summaries.update(added)
    preset = preset.with_train([(n, sp) for n, s in added.items() for sp in s["train_splits"]])
    if not summaries:
        raise DatasetError(f"nothing to build: no source of preset {preset.name!r} is available")
    hq_eval_splits = {pair: name for name, pair in HQ_EVAL.items()}
    instance_sources = {n for n, s in added.items() if s.get("instances")}
    entries = _entries(folders, _hash_tables(folders, summaries))
    check_known(exclude, wanted, (e.id for e in entries))
    excluded = [Excluded(e.id, e.source, e.split, wanted[e.id]) for e in entries if e.id in wanted]
    entries = [e for e in entries if e.id not in wanted]  # before dedup: keep their duplicates
    entries, siblings = collapse(entries, instance_sources)
    result = find_duplicates(
        entries,
        is_train=lambda e: preset.is_train(e.source, e.split),
        is_hq_eval=lambda e: (e.source, e.split) in hq_eval_splits
        or (e.source in added and not preset.is_train(e.source, e.split)),
        source_rank=preset.source_rank,
        mode=dedup,
        near_threshold=near_threshold,
    )
    result = expand(result, siblings)
    dropped = pa.array(sorted(result.dropped | set(wanted)), type=pa.string())
    rejects = [r for s in summaries for r in read_rejects(folders[s] / REJECTS_FILE)]

    with output_dir(out, "build") as tmp:
        per_source: list[ConfigFiles] = []
        counts: dict[str, dict[str, int]] = {}
        todo = [(s, sp) for s, summary in summaries.items() for sp in _split_order(s, summary)]
        for source, split in progress_bar(todo, desc="build", unit="split", bar=progress):
            files, rows, nbytes = _copy_split(
                list_shards(folders[source], split), tmp / "data" / source, split, dropped
            )
            if rows == 0:
                continue
            config = next((c for c in per_source if c.name == source), None)
            if config is None:
                config = ConfigFiles(source)
                per_source.append(config)
            config.splits[split] = [f"data/{source}/{f}" for f in files]
            config.examples[split], config.nbytes[split] = rows, nbytes
            counts.setdefault(source, {})[split] = rows

        default, hq_eval = ConfigFiles("default"), ConfigFiles("hq_eval")
        default.splits["train"], default.examples["train"], default.nbytes["train"] = [], 0, 0
        by_name = {c.name: c for c in per_source}
        for source, split in preset.train:
            if source in by_name and split in by_name[source].splits:
                default.splits["train"] += by_name[source].splits[split]
                default.examples["train"] += by_name[source].examples[split]
                default.nbytes["train"] += by_name[source].nbytes[split]
        for name, (source, split) in HQ_EVAL.items():
            if source in by_name and split in by_name[source].splits:
                hq_eval.splits[name] = by_name[source].splits[split]
                hq_eval.examples[name] = by_name[source].examples[split]
                hq_eval.nbytes[name] = by_name[source].nbytes[split]
        configs = [
            c for c in (default, *per_source, hq_eval) if c.splits and sum(c.examples.values())
        ]

        dup_counts = {
            "exact": result.count("exact"),
            "near": result.count("near"),
            "groups": result.groups,
            "leaks": result.leaks,
            "dropped": len(result.dropped),
        }
        write_rejects(tmp / REJECTS_FILE, rejects)
        write_duplicates(tmp / "duplicates.csv", result.rows)
        if exclude:
            write_excluded(tmp / EXCLUDED_FILE, excluded)
        rejects_by_source = {
            s: count_by_reason(r for r in rejects if r.source == s)
            for s in sorted({r.source for r in rejects})
        }
        sample = _from_sample(raw_dir, summaries)
        sources = [
            source_info(added[s]) if s in added else public_source_info(s) for s in summaries
        ]
        card = render_card(
            preset_name=preset.name,
            preset_description=preset.description,
            configs=configs,
            sources=sources,
            counts=counts,
            train_splits=list(preset.train),
            rejects_by_source=rejects_by_source,
            warnings=[w for s in summaries for w in summaries[s].get("warnings", [])],
            duplicates=dup_counts,
            dedup_mode=dedup,
            near_threshold=near_threshold,
            missing=missing,
            sample=sample,
            extra=([added_section(added, counts)] if added else [])
            + ([card_section(excluded, Path(exclude).name)] if excluded else []),
        )
        write_text(tmp / "README.md", card)
        write_text(tmp / LICENSE_FILE, render_license(sources, sample=sample))
        stats = {
            "total_train": default.examples["train"],
            "records": sum(sum(v.values()) for v in counts.values()),
            "rejects": len(rejects),
            "duplicates_exact": dup_counts["exact"],
            "duplicates_near": dup_counts["near"],
            "leaks": dup_counts["leaks"],
            "dropped": dup_counts["dropped"],
            "excluded": len(excluded),
            "missing_sources": len(missing),
            "resized_masks": sum(len(summaries[s].get("warnings", [])) for s in summaries),
            "sample": sample,  # `hqseg publish` reads it here: the card is the user's to edit
        }
        for source, splits in counts.items():
            for split, n in splits.items():
                stats[f"{source}_{split}"] = n
        stats["conservation"] = conservation(
            summaries, counts, rejects_by_source, result.dropped, excluded
        )
        write_json(tmp / "stats.json", stats)
    if stats_out is not None:
        write_owned_json(stats_out, stats, "build", option="--stats-out")
    return stats
