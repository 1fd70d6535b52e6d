"""``hqseg eval hq``: every HQ benchmark of a build folder, written as tables and JSON.

With several checkpoints (:class:`~.shared_encoder.Checkpoints`), ``out_dir`` holds one
subfolder per checkpoint (its HQ-SAM results) and ``sam/`` (the SAM baseline), each
holding the files below.

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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from hqseg.errors import DatasetError
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.hq import BENCHMARKS, HQSplitResult, run_hq_split, summarize
from hqseg.evaluation.shared_encoder import Checkpoints
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
    checkpoints: Checkpoints | None = None,
    batch_size: int = 1,
    workers: int = 0,
    encodings: EncodingCache | None = None,
    amp: torch.dtype | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """Score each HQ split of ``data_dir`` and write the outputs listed above.

    Under torchrun each rank scores every world-th image of each split; rank 0 gathers,
    writes and returns the summary (other ranks return None).

    Args:
        predictor: an ``HQSamPredictor`` (or a model); unused with ``checkpoints``.
        splits: split names (keys of :data:`~.hq.BENCHMARKS`); None = all present.
        mask_types: ``"hq"`` (HQ-SAM, HQ token only) and/or ``"sam"`` (baseline).
        limit: score only the first ``limit`` images of each split (smoke runs).
        protocol: ``"square"`` (the authors'; None means it too) or ``"longest_side"``,
            whatever the predictor's resize_mode (see :func:`~.hq.resolve_protocol`).
        provenance: written as ``provenance.json`` in the unit
            (:func:`hqseg.provenance.collect_provenance`); with several checkpoints,
            ``{unit: provenance}``; None = not written.
        checkpoints: several checkpoints sharing one encoder (:mod:`.shared_encoder`):
            each image is encoded once; each checkpoint's HQ results go to
            ``out_dir/<its unit>``, the SAM baseline (first checkpoint) to ``out_dir/sam``.
        batch_size: images per encoder call; workers: DataLoader processes that decode
            and resize images.
        encodings: an encoding cache every encoder call goes through (key: encoder
            digest, protocol and input size, the record's image sha256, numerics).
        amp: autocast dtype for the encoder alone; its deviation from float32 on the
            first batch is said through ``say`` (:mod:`.amp_check`).

    Returns:
        The summary written to ``metrics.json`` (``{unit: summary}`` with several
        checkpoints), None on ranks other than 0.
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, "eval hq")  # before the work, not after it
    named = (  # loaded when the protocol and heads have been checked
        (split, dataset if limit is None else dataset.select(range(min(limit, len(dataset)))))
        for split, dataset in load_benchmarks(data_dir, splits).items()
    )
    return score_and_write(out_dir, checkpoints or Checkpoints([predictor], [""]), named,
                           protocol=protocol, mask_types=mask_types, encodings=encodings,
                           amp=amp, progress=progress, batch_size=batch_size,
                           workers=workers, say=say, provenance=provenance)  # fmt: skip


def score_and_write(
    out_dir: str | Path,
    checkpoints: Checkpoints,
    named: Iterable[tuple[str, Any]],
    *,
    protocol: str | None,
    mask_types: Sequence[str],
    encodings: EncodingCache | None = None,
    amp: torch.dtype | None = None,
    progress: bool = True,
    batch_size: int = 1,
    workers: int = 0,
    say: Callable[[str], None] | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Score each ``(benchmark, records)`` of ``named`` with ``checkpoints`` under the HQ
    ``protocol``, sharded over torchrun ranks, and write the outputs listed above: the one
    loop of the build's HQ benchmarks and custom ``--benchmark`` sets. The protocol and
    the heads (one SAM baseline: :meth:`Checkpoints.heads`) are checked before ``named``
    is read. Returns the summary on rank 0, None on the other ranks."""
    proto = checkpoints.protocol(protocol, encodings=encodings, amp=amp)
    heads = checkpoints.heads(mask_types)
    results = [
        run_hq_split(proto, records, heads=heads, benchmark=name, progress=progress,
                     keep_masks=True, batch_size=batch_size, workers=workers,
                     distributed=True, say=say)  # fmt: skip
        for name, records in named
    ]
    if results and results[0] is None:  # not rank 0
        return None
    return write_hq_outputs(out_dir, results, protocol=proto.name, provenance=provenance)


def write_hq_outputs(
    out_dir: str | Path,
    results: Sequence[HQSplitResult],
    *,
    protocol: str,
    provenance: dict[str, Any] | None = None,
):
    """Write merged :class:`~.hq.HQSplitResult` s (one per benchmark) as the outputs
    listed above, one unit per head unit; return the summary (``metrics.json``).

    One unit ``""`` is written to ``out_dir`` itself (a single-checkpoint run); several
    go to subfolders of ``out_dir``, replaced together, and the return value and
    ``provenance`` are then ``{unit: ...}``. Shared by the build's HQ benchmarks and
    custom ``--benchmark`` sets, so both write the same files, units and marker.
    """
    units = list(dict.fromkeys(u for r in results for u in r.units())) or [""]
    skipped = [row for r in results for row in r.skipped]
    if units == [""]:
        summary = _write_unit(out_dir, results, "", protocol, provenance)
    else:
        with output_dir(out_dir, "eval hq") as tmp:
            summary = {u: _write_unit(tmp / u, results, u, protocol, (provenance or {}).get(u))
                       for u in units}  # fmt: skip
    for row in skipped:
        log.warning("skipped %s (%s): %s", row["id"], row["benchmark"], row["reason"])
    return summary


def _write_unit(out_dir: Path, results, unit: str, protocol: str, provenance) -> dict:
    """One unit's files (see the module doc) from ``results``' rows of ``unit``."""
    import pandas as pd

    per_image = pd.concat([r.table(unit) for r in results], ignore_index=True)
    masks: dict[str, dict] = {}
    for r in results:
        for model, by_id in r.masks(unit).items():
            masks.setdefault(model, {}).update(by_id)
    skipped = [row for r in results for row in r.skipped]
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
    return summary
