"""Write a build's reports beside its shards: rejects, duplicates, exclusions, card,
licence and ``stats.json``.

The last step of :func:`hqseg.data.build.build`.
"""

from __future__ import annotations

from pathlib import Path

from hqseg.data.assemble import Assembled
from hqseg.data.build_dedup import Deduplicated
from hqseg.data.build_plan import BuildOptions, BuildPlan
from hqseg.data.card import LICENSE_FILE, public_source_info, render_card, render_license
from hqseg.data.custom.compose import added_section, conservation, source_info
from hqseg.data.dedup import DedupResult, write_duplicates
from hqseg.data.exclude import FILENAME as EXCLUDED_FILE
from hqseg.data.exclude import card_section, write_excluded
from hqseg.data.rejects import FILENAME as REJECTS_FILE
from hqseg.data.rejects import count_by_reason, read_rejects, write_rejects
from hqseg.utils.atomic import write_json, write_text


def write_outputs(
    tmp: Path, plan: BuildPlan, dedup: Deduplicated, built: Assembled, options: BuildOptions
) -> dict:
    """Write the reports into the build's temporary folder ``tmp``; return the stats."""
    summaries, exclude = plan.summaries, options.exclude
    rejects = [r for s in summaries for r in read_rejects(plan.folders[s] / REJECTS_FILE)]
    write_rejects(tmp / REJECTS_FILE, rejects)
    write_duplicates(tmp / "duplicates.csv", dedup.result.rows)
    if exclude:
        write_excluded(tmp / EXCLUDED_FILE, dedup.excluded)
    rejects_by_source = {
        s: count_by_reason(r for r in rejects if r.source == s)
        for s in sorted({r.source for r in rejects})
    }
    sample = _from_sample(Path(options.raw_dir), summaries)
    sources = [
        source_info(plan.added[s]) if s in plan.added else public_source_info(s) for s in summaries
    ]
    extra = [added_section(plan.added, built.counts)] if plan.added else []
    if dedup.excluded:
        extra.append(card_section(dedup.excluded, Path(exclude).name))
    card = render_card(
        preset_name=plan.preset.name,
        preset_description=plan.preset.description,
        configs=built.configs,
        sources=sources,
        counts=built.counts,
        train_splits=list(plan.preset.train),
        rejects_by_source=rejects_by_source,
        warnings=[w for s in summaries for w in summaries[s].get("warnings", [])],
        duplicates=duplicate_counts(dedup.result),
        dedup_mode=options.dedup,
        near_threshold=options.near_threshold,
        missing=plan.missing,
        sample=sample,
        extra=extra,
    )
    write_text(tmp / "README.md", card)
    write_text(tmp / LICENSE_FILE, render_license(sources, sample=sample))
    stats = build_stats(plan, dedup, built, n_rejects=len(rejects), sample=sample)
    stats["conservation"] = conservation(
        summaries, built.counts, rejects_by_source, dedup.result.dropped, dedup.excluded
    )
    write_json(tmp / "stats.json", stats)
    return stats


def duplicate_counts(result: DedupResult) -> dict[str, int]:
    """The card's duplicates table: ``exact``, ``near``, ``groups``, ``leaks``, ``dropped``."""
    return {
        "exact": result.count("exact"),
        "near": result.count("near"),
        "groups": result.groups,
        "leaks": result.leaks,
        "dropped": len(result.dropped),
    }


def build_stats(
    plan: BuildPlan, dedup: Deduplicated, built: Assembled, *, n_rejects: int, sample: bool
) -> dict:
    """``stats.json`` (flat numbers for ``dvc metrics``) without its conservation check."""
    dups = duplicate_counts(dedup.result)
    stats = {
        "total_train": built.total_train,
        "records": sum(sum(v.values()) for v in built.counts.values()),
        "rejects": n_rejects,
        "duplicates_exact": dups["exact"],
        "duplicates_near": dups["near"],
        "leaks": dups["leaks"],
        "dropped": dups["dropped"],
        "excluded": len(dedup.excluded),
        "missing_sources": len(plan.missing),
        "resized_masks": sum(len(s.get("warnings", [])) for s in plan.summaries.values()),
        "sample": sample,  # `hqseg publish` reads it here: the card is the user's to edit
    }
    for source, splits in built.counts.items():
        for split, n in splits.items():
            stats[f"{source}_{split}"] = n
    return stats


def _from_sample(raw_dir: Path, sources) -> bool:
    """True if any source's raw folder was extracted from the embedded sample."""
    from hqseg.data.manifest import read_manifest

    return any((read_manifest(raw_dir / s) or {}).get("sample") for s in sources)
