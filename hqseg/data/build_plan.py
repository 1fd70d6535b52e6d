"""Plan a build: check the options, then gather what it composes.

The first step of :func:`hqseg.data.build.build` (plan -> dedup -> assemble ->
card/stats): every user error that needs no work is raised before any work, then
the preset's sources are read (normalised first if only raw), the added custom
sources normalised and the exclude list read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hqseg.data.custom import normalize_custom
from hqseg.data.custom.compose import custom_dir_default, resolve_added
from hqseg.data.dedup import DEDUP_MODES, NEAR_THRESHOLD
from hqseg.data.exclude import read_exclude
from hqseg.data.normalize import get_source, normalize_source, read_summary
from hqseg.data.presets import Preset, get_preset
from hqseg.data.sources import source_names
from hqseg.errors import DatasetError
from hqseg.utils.outdir import check_replaceable
from hqseg.utils.outfile import check_file_replaceable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    """How :func:`hqseg.data.build.build` composes a preset (its keyword arguments).

    Attributes:
        size_mismatch: for sources normalised by this build; None keeps existing
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
    """

    normalized_dir: str | os.PathLike = "data/normalized"
    raw_dir: str | os.PathLike = "data/raw"
    out: str | os.PathLike = "data/hqseg44k"
    dedup: str = "drop"
    near_threshold: int = NEAR_THRESHOLD
    allow_missing: bool = False
    size_mismatch: str | None = None
    stats_out: str | os.PathLike | None = None
    workers: int | None = None
    progress: bool = True
    add: Sequence = ()
    licences: Sequence[str] = ()
    custom_dir: str | os.PathLike | None = None
    exclude: str | os.PathLike | None = None


@dataclass
class BuildPlan:
    """What a build composes.

    Attributes:
        preset: the preset, its training composition extended by the added sources'.
        summaries: source -> normalisation summary (the preset's available sources,
            then the added ones, in that order: the order of every output).
        folders: source -> its normalised folder.
        added: custom source name -> its summary (also in ``summaries``).
        missing: preset sources built without (``allow_missing``).
        wanted: record id -> reason, from the exclude list.
    """

    preset: Preset
    summaries: dict[str, dict]
    folders: dict[str, Path]
    added: dict[str, dict] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    wanted: dict[str, str] = field(default_factory=dict)


def plan_build(preset_name: str, options: BuildOptions) -> BuildPlan:
    """Check ``options`` (before any work), then gather the sources of the build.

    Raises:
        DatasetError: unknown preset or dedup mode, missing sources (see
            :func:`ensure_normalized`), nothing to build, or a bad exclude list.
    """
    preset = get_preset(preset_name)
    specs = resolve_added(options.add, options.licences, source_names())
    if not preset.sources and not specs:
        raise DatasetError(f"preset {preset.name!r} builds only added sources: give --add SPEC")
    if options.dedup not in DEDUP_MODES:
        raise DatasetError(f"--dedup must be one of {DEDUP_MODES}, not {options.dedup!r}")
    check_replaceable(options.out, "build")  # before the work, not after it
    if options.stats_out is not None:
        check_file_replaceable(options.stats_out, "build", option="--stats-out")
    wanted = read_exclude(options.exclude) if options.exclude else {}
    normalized_dir, raw_dir = Path(options.normalized_dir), Path(options.raw_dir)
    summaries, missing = ensure_normalized(
        preset,
        normalized_dir,
        raw_dir,
        allow_missing=options.allow_missing,
        size_mismatch=options.size_mismatch,
        workers=options.workers,
        progress=options.progress,
    )
    plan = BuildPlan(preset, summaries, {s: normalized_dir / s for s in summaries})
    plan.missing, plan.wanted = missing, wanted
    custom_dir = Path(options.custom_dir or custom_dir_default(normalized_dir))
    for spec in specs:
        plan.added[spec.name] = normalize_custom(
            spec, custom_dir, size_mismatch=options.size_mismatch, workers=options.workers,
            progress=options.progress,
        )  # fmt: skip
        plan.folders[spec.name] = custom_dir / spec.name
    summaries.update(plan.added)
    plan.preset = preset.with_train(
        [(n, sp) for n, s in plan.added.items() for sp in s["train_splits"]]
    )
    if not summaries:
        raise DatasetError(f"nothing to build: no source of preset {preset.name!r} is available")
    return plan


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


def split_order(source: str, summary: dict) -> list[str]:
    """The source's splits in its adapter's order (train, val, tests), unknown ones last."""
    try:
        order = tuple(get_source(source).splits)
    except Exception:  # an unknown adapter only loses the ordering
        order = ()
    return sorted(summary["splits"], key=lambda s: (order.index(s) if s in order else 99, s))
