"""``hqseg eval hq --benchmark SPEC``: the HQ protocol on a user's own images and masks.

Each spec (``folder:``, ``coco:``, ``hf:``; see :mod:`hqseg.data.custom`) is read
through the same conversion as a build (EXIF, colour, mask rules; unusable pairs
logged), and every record of every split is scored as one benchmark named after the
source. Outputs are the files ``hqseg eval hq`` writes (per_image.csv, metrics.json,
masks.json, skipped.csv), so the report reads them the same way.

:func:`score_records` is the single place that calls into the HQ evaluation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def score_records(
    predictor: Any,
    records: Iterable[dict],
    *,
    benchmark: str,
    mask_types: Sequence[str],
    progress: bool,
):
    """Score records (``id``, ``image`` and ``mask`` bytes, ``split``) with the authors'
    HQ protocol; returns the evaluator (``rows``, ``skipped``, ``masks``)."""
    from hqseg.evaluation.hq import run_hq_split

    return run_hq_split(predictor, list(records), mask_types=mask_types, benchmark=benchmark,
                        progress=progress, keep_masks=True)  # fmt: skip


def evaluate_custom_benchmarks(
    predictor: Any,
    specs: Sequence[str],
    out_dir: str | Path,
    *,
    mask_types: Sequence[str] = ("hq", "sam"),
    limit: int | None = None,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score each spec as one benchmark; write the ``eval hq`` outputs (``provenance``
    as ``provenance.json`` when given); return the summary.

    Raises:
        DatasetError: a spec is bad, its input unreadable, or it yields no usable pair.
    """
    from hqseg.data.custom import custom_records, parse_spec
    from hqseg.errors import DatasetError
    from hqseg.evaluation.hq import resolve_protocol
    from hqseg.evaluation.hq_run import write_hq_outputs
    from hqseg.utils.outdir import check_replaceable

    parsed = [parse_spec(s) for s in specs]
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise DatasetError(f"--benchmark sources need distinct names (?name=...): {names}")
    check_replaceable(Path(out_dir), "eval hq")  # before the work, not after it
    protocol = resolve_protocol(predictor, None).name
    evaluators = [
        score_records(predictor, itertools.islice(custom_records(spec), limit),
                      benchmark=spec.name, mask_types=mask_types, progress=progress)  # fmt: skip
        for spec in parsed
    ]
    return write_hq_outputs(out_dir, evaluators, protocol=protocol, provenance=provenance)
