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

Steps, one module each: plan (:mod:`~hqseg.data.build_plan`: options checked
before any work, sources normalised) -> dedup (:mod:`~hqseg.data.build_dedup`) ->
assemble (:mod:`~hqseg.data.assemble`: shards and configs) -> card and stats
(:mod:`~hqseg.data.build_outputs`).
"""

from __future__ import annotations

from hqseg.data.assemble import assemble
from hqseg.data.build_dedup import deduplicate
from hqseg.data.build_outputs import write_outputs
from hqseg.data.build_plan import BuildOptions, ensure_normalized, plan_build
from hqseg.utils.outdir import output_dir
from hqseg.utils.outfile import write_owned_json

__all__ = ["BuildOptions", "build", "ensure_normalized"]


def build(preset_name: str, **options) -> dict:
    """Build the HQSeg-44K folder ``options["out"]`` for ``preset_name``; return
    ``stats.json``'s content.

    Args:
        options: the fields of :class:`~hqseg.data.build_plan.BuildOptions` (``out``,
            ``normalized_dir``, ``raw_dir``, ``dedup``, ``add``, ``exclude``, ...).

    Raises:
        DatasetError: unknown preset or dedup mode, missing sources (see
            :func:`~hqseg.data.build_plan.ensure_normalized`), nothing to build, or a
            bad exclude list.
        TypeError: an option that is not a field of ``BuildOptions``.
    """
    opts = BuildOptions(**options)
    plan = plan_build(preset_name, opts)
    dedup = deduplicate(
        plan, mode=opts.dedup, near_threshold=opts.near_threshold, exclude=opts.exclude
    )
    with output_dir(opts.out, "build") as tmp:
        built = assemble(tmp, plan, dedup.dropped, progress=opts.progress)
        stats = write_outputs(tmp, plan, dedup, built, opts)
    if opts.stats_out is not None:
        write_owned_json(opts.stats_out, stats, "build", option="--stats-out")
    return stats
