"""Assemble a build's shards and configs in its temporary folder.

The third step of :func:`hqseg.data.build.build`: each source's splits go to
``data/<source>/`` minus the dropped ids (shards without one are hard-linked
unchanged, the others rewritten one row group at a time), then the ``default``
and ``hq_eval`` configs are composed from those same files.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hqseg.data.build_plan import BuildPlan, split_order
from hqseg.data.card import ConfigFiles
from hqseg.data.presets import HQ_EVAL, Preset
from hqseg.data.shards import ShardWriter, count_rows, iter_tables, list_shards, record_schema


@dataclass
class Assembled:
    """What a build wrote under ``data/``.

    Attributes:
        configs: ``default``, one per source, ``hq_eval`` (the empty ones left out).
        counts: source -> split -> records written (splits left empty are absent).
        total_train: records of the ``default`` config's ``train`` split.
    """

    configs: list[ConfigFiles]
    counts: dict[str, dict[str, int]]
    total_train: int


def assemble(tmp: Path, plan: BuildPlan, dropped: pa.Array, *, progress: bool) -> Assembled:
    """Write every split of the plan under ``tmp/data`` minus ``dropped``; compose the configs."""
    from hqseg.utils.progress import progress_bar

    per_source: list[ConfigFiles] = []
    counts: dict[str, dict[str, int]] = {}
    todo = [(s, sp) for s, summary in plan.summaries.items() for sp in split_order(s, summary)]
    for source, split in progress_bar(todo, desc="build", unit="split", bar=progress):
        files, rows, nbytes = _copy_split(
            list_shards(plan.folders[source], split), tmp / "data" / source, split, dropped
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
    default, hq_eval = _composed(plan.preset, per_source)
    configs = [c for c in (default, *per_source, hq_eval) if c.splits and sum(c.examples.values())]
    return Assembled(configs, counts, default.examples["train"])


def _composed(preset: Preset, per_source: list[ConfigFiles]) -> tuple[ConfigFiles, ConfigFiles]:
    """The ``default`` config (the preset's training splits as ``train``) and ``hq_eval``
    (one split per HQ evaluation set present), sharing the per-source files."""
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
    return default, hq_eval


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
