"""``hqseg eval hq``: every HQ benchmark of a build folder, written as tables and JSON.

Outputs (in ``out_dir``, written as one unit with :func:`hqseg.utils.outdir.output_dir`):
    ``per_image.csv``  one row per image and model (:data:`~.hq.PER_IMAGE_COLUMNS`;
                       ``iou_pct``, ``biou_pct`` in percent);
    ``metrics.json``   ``{"unit": "percent", "protocol": name, benchmark: {model: {mIoU,
                       mBIoU, n}}, "mean": ...}``, the full summary;
    ``headline_<model>.json`` ``{"mIoU", "mBIoU"}`` of the mean, the files DVC tracks as
                       metrics (:mod:`hqseg.metrics.headline`);
    ``masks.json``     predicted masks as RLE, ``{model: {id: rle}}``, for the report gallery;
    ``skipped.csv``    images not scored and why (header only when none);
    ``provenance.json`` what produced them (:mod:`hqseg.provenance`), when the caller
                       passes ``provenance`` (the CLI always does).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hqseg.errors import DatasetError
from hqseg.evaluation.hq import BENCHMARKS, resolve_protocol, run_hq_split, summarize
from hqseg.metrics.headline import hq_headlines
from hqseg.metrics.units import with_unit
from hqseg.provenance import write_provenance
from hqseg.utils.atomic import atomic_file, write_json
from hqseg.utils.outdir import check_replaceable, output_dir

log = logging.getLogger(__name__)

HQ_CONFIG = "hq_eval"
"""Config name of the HQ evaluation splits in a build folder."""


def load_benchmarks(data_dir: str | Path, splits: Sequence[str] | None = None) -> dict[str, Any]:
    """Load the requested HQ splits (default: whichever of the four the build has).

    Raises:
        DatasetError: a requested split is missing, or none of the four exists.
    """
    from hqseg.data.records import MissingSplitError, check_build_folder, load_split

    check_build_folder(data_dir)
    wanted = list(splits) if splits else list(BENCHMARKS)
    loaded: dict[str, Any] = {}
    missing: Exception | None = None
    for split in wanted:
        try:
            loaded[split] = load_split(data_dir, HQ_CONFIG, split)
        except MissingSplitError as exc:  # a damaged shard is an error even for a default split
            if splits:
                raise
            missing = exc
            log.warning("%s: no %r split in config %r; skipped", data_dir, split, HQ_CONFIG)
    if not loaded:
        raise DatasetError(
            f"{data_dir}: config {HQ_CONFIG!r} has none of the HQ splits {list(BENCHMARKS)}"
            f" (last problem: {missing})"
        )
    return loaded


def evaluate_hq_benchmarks(
    predictor: Any,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    splits: Sequence[str] | None = None,
    mask_types: Sequence[str] = ("hq", "sam"),
    limit: int | None = None,
    progress: bool = True,
    protocol: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score each HQ split of ``data_dir`` and write the outputs listed above.

    Args:
        predictor: an ``HQSamPredictor`` (or a model).
        splits: split names (keys of :data:`~.hq.BENCHMARKS`); None = all present.
        mask_types: ``"hq"`` (HQ-SAM, HQ token only) and/or ``"sam"`` (baseline).
        limit: score only the first ``limit`` images of each split (smoke runs).
        protocol: ``"square"`` (the authors'; None means it too) or ``"longest_side"``,
            whatever the predictor's resize_mode (see :func:`~.hq.resolve_protocol`).
        provenance: written as ``provenance.json`` in the unit
            (:func:`hqseg.provenance.collect_provenance`); None = not written.

    Returns:
        The summary written to ``metrics.json``.
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, "eval hq")  # before the work, not after it
    proto = resolve_protocol(predictor, protocol)
    evaluators = []
    for split, dataset in load_benchmarks(data_dir, splits).items():
        if limit is not None:
            dataset = dataset.select(range(min(limit, len(dataset))))
        evaluators.append(
            run_hq_split(
                proto.model,
                dataset,
                protocol=proto.name,
                mask_types=mask_types,
                benchmark=split,
                progress=progress,
                keep_masks=True,
            )
        )
    return write_hq_outputs(out_dir, evaluators, protocol=proto.name, provenance=provenance)


def write_hq_outputs(
    out_dir: str | Path,
    evaluators: Sequence[Any],
    *,
    protocol: str,
    provenance: dict[str, Any] | None = None,
):
    """Gather filled :class:`~.hq.HQBenchmarkEvaluator` s (one per benchmark) and write
    the outputs listed above as one unit; return the summary (``metrics.json``).

    Shared by the build's HQ benchmarks and custom ``--benchmark`` sets, so both write
    the same files, units and marker.
    """
    import pandas as pd

    tables, skipped, masks = [], [], {}
    for ev in evaluators:
        table, _ = ev.evaluate()
        tables.append(table)
        skipped.extend(ev.skipped)
        for model, by_id in ev.masks.items():
            masks.setdefault(model, {}).update(by_id)
    per_image = pd.concat(tables, ignore_index=True)
    summary = with_unit({"protocol": protocol, **summarize(per_image)})
    # One unit: the files replace the previous run's together, and the marker
    # records their hashes so readers can refuse a mix of runs.
    with output_dir(out_dir, "eval hq", manifest=True) as tmp:
        with atomic_file(tmp / "per_image.csv", "w") as fh:
            per_image.to_csv(fh, index=False, lineterminator="\n")
        with atomic_file(tmp / "skipped.csv", "w") as fh:
            pd.DataFrame(skipped, columns=["id", "benchmark", "reason"]).to_csv(
                fh, index=False, lineterminator="\n"
            )
        write_json(tmp / "masks.json", masks, indent=None)
        write_json(tmp / "metrics.json", summary)
        for name, headline in hq_headlines(summary).items():
            write_json(tmp / name, headline)
        if provenance is not None:
            write_provenance(tmp, provenance)
    for row in skipped:
        log.warning("skipped %s (%s): %s", row["id"], row["benchmark"], row["reason"])
    return summary
