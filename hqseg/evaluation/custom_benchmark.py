"""``hqseg eval hq --benchmark SPEC``: the HQ protocol on a user's own images and masks.

Each spec (``folder:``, ``coco:``, ``hf:``; see :mod:`hqseg.data.custom`) is read
through the same conversion as a build (EXIF, colour, mask rules; unusable pairs
logged). Each evaluation split (a split not in the spec's ``train=``, default
``train``) is one benchmark, named ``<name>_<split>`` (``<name>`` when the source has one
split); training splits are scored only when asked (``with_train``), or when the source
has nothing else (e.g. one flat folder of benchmark images). Outputs are the files
``hqseg eval hq`` writes (per_image.csv, metrics.json, masks.json, skipped.csv), so the
report reads them the same way.

:func:`~.hq_run.score_and_write` scores and writes them, as the build's HQ benchmarks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


def evaluate_custom_benchmarks(
    predictor: Any,
    specs: Sequence[str],
    out_dir: str | Path,
    *,
    mask_types: Sequence[str] = ("hq", "sam"),
    limit: int | None = None,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
    with_train: bool = False,
    say: Callable[[str], None] = lambda line: None,
    protocol: str = "square",
    checkpoints: Any = None,
    batch_size: int = 1,
    workers: int = 0,
    encodings: Any = None,
    amp: Any = None,
) -> dict[str, Any] | None:
    """Score each evaluation split of each spec as one benchmark (see the module doc;
    ``limit``: first images of each); write the ``eval hq`` outputs (``provenance`` as
    ``provenance.json`` when given); return the summary. ``say`` gets one line per
    split: scored or left out, and why. ``protocol``: the HQ protocol's name
    (``"square"``, the authors', or ``"longest_side"``), whatever the predictor's geometry.

    ``checkpoints``, ``batch_size``, ``workers``, ``encodings`` and ``amp`` are those of
    :func:`~.hq_run.evaluate_hq_benchmarks` (several checkpoints on one encoding, encoder
    batches, loader processes, the encoding cache, encoder autocast), and so is the
    sharding over torchrun ranks (None on ranks other than 0).

    Raises:
        DatasetError: a spec is bad, its input unreadable, or it yields no usable pair.
    """
    from hqseg.data.custom import custom_records, parse_spec
    from hqseg.errors import DatasetError
    from hqseg.evaluation.hq_run import score_and_write
    from hqseg.evaluation.shared_encoder import Checkpoints
    from hqseg.utils.outdir import check_replaceable

    parsed = [parse_spec(s) for s in specs]
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise DatasetError(f"--benchmark sources need distinct names (?name=...): {names}")
    check_replaceable(Path(out_dir), "eval hq")  # before the work, not after it
    named = (  # lazily: one source's records in memory at a time
        (bench, list(itertools.islice(records, limit)))
        for spec in parsed
        for bench, records in benchmark_splits(spec, custom_records(spec), with_train, say)
    )
    return score_and_write(out_dir, checkpoints or Checkpoints([predictor], [""]), named,
                           protocol=protocol, mask_types=mask_types, encodings=encodings,
                           amp=amp, progress=progress, batch_size=batch_size,
                           workers=workers, say=say, provenance=provenance)  # fmt: skip


def benchmark_splits(
    spec: Any, records: Iterable[dict], with_train: bool, say: Callable[[str], None]
) -> list[tuple[str, list[dict]]]:
    """``[(benchmark name, records)]`` of the splits of ``spec`` to score (module doc)."""
    by_split: dict[str, list[dict]] = {}
    for record in records:
        by_split.setdefault(record["split"], []).append(record)
    train = set(spec.train_splits)
    chosen = [s for s in by_split if with_train or s not in train] or list(by_split)
    out = []
    for split, rows in by_split.items():
        bench = spec.name if len(by_split) == 1 else f"{spec.name}_{split}"
        if split in chosen:
            why = " (a training split)" if split in train else ""
            say(f"{spec.text}: scoring split {split!r}{why} as benchmark {bench!r}: "
                f"{len(rows)} image(s)")  # fmt: skip
            out.append((bench, rows))
        else:
            say(f"{spec.text}: left out training split {split!r} ({len(rows)} image(s); "
                "--with-train scores it)")  # fmt: skip
    return out
