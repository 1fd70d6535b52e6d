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

from hqseg.utils.atomic import atomic_file, write_json


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
) -> dict[str, Any]:
    """Score each spec as one benchmark; write the ``eval hq`` outputs; return the summary.

    Raises:
        DatasetError: a spec is bad, its input unreadable, or it yields no usable pair.
    """
    import pandas as pd

    from hqseg.data.custom import custom_records, parse_spec
    from hqseg.errors import DatasetError
    from hqseg.evaluation.hq import PER_IMAGE_COLUMNS, summarize

    parsed = [parse_spec(s) for s in specs]
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise DatasetError(f"--benchmark sources need distinct names (?name=...): {names}")
    rows, skipped, masks = [], [], {}
    for spec in parsed:
        records = itertools.islice(custom_records(spec), limit)
        ev = score_records(predictor, records, benchmark=spec.name, mask_types=mask_types,
                           progress=progress)  # fmt: skip
        rows += ev.rows
        skipped += ev.skipped
        for model, by_id in ev.masks.items():
            masks.setdefault(model, {}).update(by_id)
    per_image = pd.DataFrame(rows, columns=list(PER_IMAGE_COLUMNS))
    summary = summarize(per_image)
    out_dir = Path(out_dir)
    with atomic_file(out_dir / "per_image.csv", "w") as fh:
        per_image.to_csv(fh, index=False, lineterminator="\n")
    with atomic_file(out_dir / "skipped.csv", "w") as fh:
        pd.DataFrame(skipped, columns=["id", "benchmark", "reason"]).to_csv(
            fh, index=False, lineterminator="\n"
        )
    write_json(out_dir / "masks.json", masks, indent=None)
    write_json(out_dir / "metrics.json", summary)
    return summary
