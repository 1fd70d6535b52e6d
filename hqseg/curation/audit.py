"""Audit a build: score every record for "this mask is probably wrong".

Pass 1 (all cores, :func:`hqseg.data.parallel.bounded_map`): each worker decodes one
record (JPEG images at a reduced draft size: the signals need at most
:data:`~hqseg.curation.signals.WORK_SIDE` pixels) and returns its image signals, its
perceptual hash and a 16 x 16 mask thumbnail. Pass 2 (only with a model): the model
scores each record in this process. Then the cross-record signals (near-duplicate images
whose masks disagree; the model's weight from its agreement over the whole audit), the
score and the rank.

Memory: no pixels are kept; per record a few floats, its id and 40 bytes of hash and
thumbnail (about 300 bytes), so 44k records need about 13 MB. Deterministic: records come
in shard order, workers return in input order, ties in rank keep that order.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hqseg.curation import model_signal, scoring
from hqseg.curation.reader import EncodedRecord, count_rows, iter_records, shards
from hqseg.curation.signals import IMAGE_SIGNALS, WORK_SIDE, SkipRecord, image_signals

SIGNALS = (*IMAGE_SIGNALS, "duplicate")
"""Signals of every audit, in column order (``sig_<name>``); ``model`` follows with a model."""
BASE_COLUMNS = ("id", "source", "split", "score", "rank", "reasons")
DEFAULT_THRESHOLD = 0.5
THUMB = 16


@dataclass
class Scored:
    """What pass 1 returns for one record (small: no pixels)."""

    id: str
    source: str
    split: str
    signals: dict[str, float] = field(default_factory=dict)
    phash: int = 0
    thumb: bytes = b""
    skip: str | None = None
    model_mask: dict | None = None  # the model's mask (COCO RLE), with a model only


def _decode(record: EncodedRecord) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """``(image, mask, (width, height))``: the image possibly at a JPEG draft size."""
    from hqseg.data.records import _to_pil, decode_mask

    img = _to_pil(record.image)
    size = img.size
    if img.format == "JPEG" and max(size) > 2 * WORK_SIDE:
        img.draft("RGB", (size[0] * WORK_SIDE // max(size), size[1] * WORK_SIDE // max(size)))
    return np.asarray(img.convert("RGB")), decode_mask(record.mask), size


def score_record(record: EncodedRecord) -> Scored:
    """Pass 1 for one record (runs in a worker); never raises for bad pixels."""
    import cv2

    from hqseg.data.fingerprints import perceptual_hash

    out = Scored(record.id, record.source, record.split)
    try:
        image, mask, size = _decode(record)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this record's skip
        out.skip = f"cannot decode image or mask ({type(exc).__name__}: {exc})"
        return out
    try:
        out.signals = image_signals(image, mask, size)
    except SkipRecord as exc:
        out.skip = str(exc)
        return out
    from PIL import Image

    out.phash = int(perceptual_hash(Image.fromarray(image)), 16)
    small = cv2.resize(mask, (THUMB, THUMB), interpolation=cv2.INTER_LINEAR) > 128  # samples
    out.thumb = np.packbits(small).tobytes()
    return out


def duplicate_signal(scored: list[Scored], threshold: int) -> None:
    """Set ``signals["duplicate"]``: the largest ``1 - IoU`` of the 16 x 16 mask thumbnails
    between a record and any near-duplicate image (pHash within ``threshold`` bits); 0 for
    records without one."""
    from hqseg.data.dedup import near_pairs

    for s in scored:
        s.signals["duplicate"] = 0.0
    hashes = np.array([s.phash for s in scored], dtype=np.uint64)
    for i, j, _ in near_pairs(hashes, threshold):
        a = np.unpackbits(np.frombuffer(scored[i].thumb, np.uint8)).astype(bool)
        b = np.unpackbits(np.frombuffer(scored[j].thumb, np.uint8)).astype(bool)
        union = np.count_nonzero(a | b)
        gap = 0.0 if union == 0 else 1.0 - np.count_nonzero(a & b) / union
        for k in (i, j):
            scored[k].signals["duplicate"] = max(scored[k].signals["duplicate"], gap)


@dataclass
class AuditResult:
    """The scored rows (sorted by rank), the skipped records and the summary."""

    rows: list[dict[str, Any]]
    columns: list[str]
    skipped: list[dict[str, str]]
    summary: dict[str, Any]
    model_masks: dict[str, dict] = field(default_factory=dict)  # id -> COCO RLE (with a model)


def run_audit(
    data_dir: str | Path,
    *,
    config: str | None = None,
    sources: tuple[str, ...] = (),
    workers: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    predictor: Any = None,
    progress: bool = True,
) -> AuditResult:
    """Score every record of build ``data_dir`` (or of ``config``, of ``sources``).

    ``predictor``: a loaded model (see :mod:`.model_signal`) or None for image signals only.

    Raises:
        DatasetError: not a build, unknown config, missing or corrupt shards.
    """
    from hqseg.data.dedup import NEAR_THRESHOLD
    from hqseg.data.parallel import bounded_map
    from hqseg.data.pixels import worker_init
    from hqseg.utils.progress import progress_bar

    paths = shards(data_dir, config)
    total = count_rows(paths)
    scored: list[Scored] = []
    with progress_bar(total=total, desc="audit", unit="records", bar=progress) as bar:
        results = bounded_map(
            score_record, iter_records(paths, sources), workers=workers, initializer=worker_init
        )
        for result in results:
            scored.append(result)
            bar.update()
    if sources and not scored:
        raise_no_records(data_dir, config, sources)
    kept = [s for s in scored if s.skip is None]
    duplicate_signal(kept, NEAR_THRESHOLD)
    weights, model_info = None, None
    if predictor is not None:
        weights, model_info = _add_model_signal(predictor, paths, sources, kept, progress)
    return _result(scored, kept, threshold, weights, model_info, config, sources)


def raise_no_records(data_dir, config, sources) -> None:
    from hqseg.errors import DatasetError

    where = f"config {config!r} of {data_dir}" if config else str(data_dir)
    raise DatasetError(f"{where} has no records of source {', '.join(sources)}")


def _add_model_signal(predictor, paths, sources, kept, progress):
    """Pass 2: the model's IoU and boundary IoU per kept record; returns (weights, info)."""
    from hqseg.data.records import decode_image, decode_mask
    from hqseg.utils.progress import progress_bar

    by_id = {s.id: s for s in kept}
    records = (
        (r.id, decode_image(r.image), decode_mask(r.mask))
        for r in iter_records(paths, sources)
        if r.id in by_id
    )
    with progress_bar(total=len(kept), desc="audit model", unit="records", bar=progress) as bar:
        for record_id, iou, biou, rle in model_signal.model_scores(predictor, records):
            s = by_id[record_id]
            s.model_mask = rle
            s.signals["iou_model"], s.signals["biou_model"] = iou, biou
            s.signals["model"] = model_signal.disagreement(iou, biou)
            bar.update()
    ious = [s.signals["iou_model"] for s in kept]
    weight = model_signal.model_weight(ious)
    finite = [v for v in ious if math.isfinite(v)]
    info = {
        "weight": round(weight, 6),
        "median_iou": round(float(np.median(finite)), 6) if finite else None,
        "scored": len(finite),
    }
    return {"model": weight}, info


def _result(scored, kept, threshold, weights, model_info, config, sources) -> AuditResult:
    names = [*SIGNALS, *(["model"] if model_info else [])]
    raws = [{n: s.signals[n] for n in names} for s in kept]
    scores = [scoring.combine(raw, weights) for raw in raws]
    rows = []
    for s, raw, score, rank in zip(kept, raws, scores, scoring.ranks(scores), strict=True):
        row = {"id": s.id, "source": s.source, "split": s.split, "score": _num(score),
               "rank": rank, "reasons": scoring.reasons(raw, weights)}  # fmt: skip
        row.update({f"sig_{n}": _num(s.signals[n]) for n in names})
        if model_info:
            row["iou_model"] = _num(s.signals["iou_model"])
            row["biou_model"] = _num(s.signals["biou_model"])
        rows.append(row)
    rows.sort(key=lambda r: r["rank"])
    columns = [*BASE_COLUMNS, *(f"sig_{n}" for n in names)]
    if model_info:
        columns += ["iou_model", "biou_model"]
    skipped = [{"id": s.id, "source": s.source, "split": s.split, "reason": s.skip}
               for s in scored if s.skip is not None]  # fmt: skip
    summary = _summary(rows, skipped, threshold, model_info, config, sources)
    masks = {s.id: s.model_mask for s in kept if s.model_mask is not None}
    return AuditResult(rows, columns, skipped, {**summary, "signals": names}, masks)


def _num(value: float) -> float:
    """Rounded for a stable, readable CSV (6 decimals: far below any ramp's resolution)."""
    return round(float(value), 6) if math.isfinite(value) else float("nan")


def _summary(rows, skipped, threshold, model_info, config, sources) -> dict[str, Any]:
    per_source: dict[str, dict[str, int]] = {}
    for row in rows:
        entry = per_source.setdefault(row["source"], {"records": 0, "above_threshold": 0})
        entry["records"] += 1
        entry["above_threshold"] += int(row["score"] >= threshold)
    for item in skipped:
        per_source.setdefault(item["source"], {"records": 0, "above_threshold": 0})
    return {
        "records_scored": len(rows),
        "records_skipped": len(skipped),
        "threshold": threshold,
        "above_threshold": sum(e["above_threshold"] for e in per_source.values()),
        "per_source": dict(sorted(per_source.items())),
        "config": config,
        "sources": list(sources),
        "model": model_info,
        "skipped": skipped,
    }


def write_audit(result: AuditResult, folder: str | Path) -> Path:
    """Write ``audit.csv``, ``summary.json`` and ``headline.json`` (the one number ``dvc
    metrics show`` tabulates, see :mod:`hqseg.metrics.headline`) into ``folder`` atomically;
    return the CSV's path."""
    from hqseg.metrics.headline import audit_headline
    from hqseg.utils.atomic import write_json, write_text

    folder = Path(folder)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=result.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
    write_text(folder / "audit.csv", buf.getvalue())
    write_json(folder / "summary.json", result.summary)
    write_json(folder / "headline.json", audit_headline(result.summary))
    return folder / "audit.csv"


def read_rows(path: str | Path) -> Iterable[dict[str, str]]:
    """The rows of an ``audit.csv`` (strings), for readers such as the review page."""
    with open(path, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def score_pair(image: np.ndarray, mask: np.ndarray) -> tuple[float, dict[str, float]]:
    """``(score, image signals)`` of one image and mask, as the audit scores a record
    without near-duplicates or a model. ``image``: ``(H, W, 3)`` uint8 RGB; ``mask``:
    ``(H, W)`` uint8 grey levels (foreground > 128).

    Raises:
        SkipRecord: the pair cannot be scored (e.g. the mask is all one value).
    """
    signals = image_signals(image, mask)
    return scoring.combine(signals), signals
