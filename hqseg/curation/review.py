"""The review page of an audit: ``DIR/index.html``, the top suspects to look at.

One self-contained HTML file (inline CSS and JS, thumbnails as ``data:`` URIs; no
network, no server): per suspect the image, its mask over it, the model's mask
when there is one, the score, each signal and the reasons. Rows sort by any number
column and filter by source, by signal (rows whose ``sig_<name>`` is at least a
chosen value) and by text. Records are read through :mod:`hqseg.data.records`, one
at a time, so memory stays flat in ``top``.

``audit.csv`` (from ``hqseg audit``) has the columns ``id, source, split, score,
rank, reasons``, then ``sig_<name>`` floats (higher = more suspicious) and
optionally ``iou_model``, ``biou_model`` (lower = more suspicious).
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hqseg.errors import DatasetError
from hqseg.utils.atomic import write_text

REQUIRED = ("id", "source", "split", "score", "rank", "reasons")
MODEL_COLUMNS = ("iou_model", "biou_model")
THUMB = 160  # longest side of a thumbnail, pixels
JPEG_QUALITY = 75
MASK_RGB = (46, 204, 113)  # the record's mask (green), as in the report's gallery
MODEL_RGB = (209, 73, 91)  # the model's mask

log = logging.getLogger(__name__)


@dataclass
class Suspect:
    """One row of audit.csv: its text fields and its number columns (NaN when blank)."""

    id: str
    source: str
    split: str
    rank: int
    reasons: str
    values: dict[str, float]
    thumbs: dict[str, str] = field(default_factory=dict)  # kind -> data: URI


def read_audit(path: str | Path) -> tuple[list[Suspect], list[str]]:
    """(rows of ``audit.csv``, the number columns: ``score``, signals, model columns).

    Raises:
        DatasetError: missing file or columns, or a number column that does not parse.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or ())
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DatasetError(
                    f"{path}: not an audit table (from `hqseg audit`): no column(s) "
                    f"{', '.join(missing)}"
                )
            numbers = ["score"] + [c for c in header if c.startswith("sig_")]
            numbers += [c for c in MODEL_COLUMNS if c in header]
            rows = [_suspect(path, n, row, numbers) for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read the audit table: {exc}") from None
    return rows, numbers


def _suspect(path: Path, line: int, row: dict, numbers: list[str]) -> Suspect:
    values = {}
    for col in [*numbers, "rank"]:
        text = (row.get(col) or "").strip()
        try:
            values[col] = float(text) if text else math.nan
        except ValueError:
            raise DatasetError(f"{path}: line {line}: {col} is not a number: {text!r}") from None
    rank = values.pop("rank")
    text = {c: (row.get(c) or "").strip() for c in ("id", "source", "split", "reasons")}
    if not text["id"]:
        raise DatasetError(f"{path}: line {line} has no id")
    return Suspect(text["id"], text["source"], text["split"],
                   int(rank) if rank == rank else line - 1, text["reasons"], values)  # fmt: skip


def top_suspects(rows: list[Suspect], top: int) -> list[Suspect]:
    """The ``top`` rows by score (highest first; ties by rank, then id)."""
    def key(r: Suspect):
        score = r.values["score"]
        return (math.inf if math.isnan(score) else -score, r.rank, r.id)

    return sorted(rows, key=key)[:top]


def _records(data_dir: Path, suspects: list[Suspect]) -> Iterator[tuple[Suspect, Any]]:
    """(suspect, its record) for each suspect found in the build, or (suspect, None)."""
    from hqseg.data.records import MissingSplitError, load_split

    by_split: dict[tuple[str, str], list[Suspect]] = {}
    for s in suspects:
        by_split.setdefault((s.source, s.split), []).append(s)
    for (source, split), group in by_split.items():
        try:
            ds = load_split(data_dir, source, split)
        except MissingSplitError:
            yield from ((s, None) for s in group)
            continue
        index = {rid: i for i, rid in enumerate(ds["id"])}
        for s in group:
            yield s, (ds[index[s.id]] if s.id in index else None)


def _binary(mask: Any) -> np.ndarray:
    """A model mask as bool (H, W): bool or 0/1 arrays (> 0.5), 8-bit 0..255 (> 128), COCO RLE."""
    if isinstance(mask, dict):
        from pycocotools import mask as mask_utils

        counts = mask["counts"]
        mask = mask_utils.decode({"size": mask["size"],
                                  "counts": counts.encode() if isinstance(counts, str) else counts})
    arr = np.asarray(mask)
    if arr.dtype == np.uint8 and arr.max(initial=0) > 1:
        return arr > 128
    return arr > 0.5


def read_model_masks(path: str | Path) -> dict[str, dict]:
    """``{id: COCO RLE}`` from a JSON file (the ``--model-masks`` of ``hqseg review``).

    Raises:
        DatasetError: unreadable JSON, or not an object of ``{"size": [h, w], "counts": ...}``.
    """
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DatasetError(f"{path}: cannot read the model masks: {exc}") from None
    ok = isinstance(data, dict) and all(
        isinstance(v, dict) and {"size", "counts"} <= set(v) for v in data.values()
    )
    if not ok:
        raise DatasetError(
            f'{path}: model masks must be a JSON object of id -> {{"size": [h, w], "counts": RLE}}'
        )
    return data


def _small(arr: np.ndarray, size: tuple[int, int], *, mask: bool = False) -> np.ndarray:
    """``arr`` resized to (w, h) = ``size``: area-averaged; masks thresholded back at 0.5."""
    import cv2

    if not mask:
        return cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
    return cv2.resize(arr.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5


def _tint(image: np.ndarray, mask: np.ndarray, rgb, outline: np.ndarray | None = None):
    """``image`` (h, w, 3) with ``mask`` tinted in ``rgb`` and its edge, or ``outline``'s, drawn."""
    import cv2

    out = image.astype(np.float32)
    out[mask] = 0.5 * out[mask] + 0.5 * np.asarray(rgb, np.float32)
    edge_of = mask if outline is None else outline
    edge = edge_of & ~(cv2.erode(edge_of.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    out[edge] = MASK_RGB if outline is not None else rgb
    return out.astype(np.uint8)


def _jpeg_uri(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnails(record: dict, model_mask: Any = None, thumb: int = THUMB) -> dict[str, str]:
    """``{"image", "mask", ["model"]}`` -> JPEG ``data:`` URIs, longest side ``thumb`` pixels.

    The record's mask is binarised at > 128 (the evaluation rule) before shrinking; the
    model's mask is drawn with the record's mask outline over it.
    """
    from hqseg.data.records import decode_image, decode_mask

    image, mask = decode_image(record["image"]), decode_mask(record["mask"]) > 128
    h, w = mask.shape
    scale = min(1.0, thumb / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = _small(image, size)
    small_mask = _small(mask, size, mask=True)
    out = {"image": _jpeg_uri(small), "mask": _jpeg_uri(_tint(small, small_mask, MASK_RGB))}
    if model_mask is not None:
        pred = _small(_binary(model_mask), size, mask=True)
        out["model"] = _jpeg_uri(_tint(small, pred, MODEL_RGB, outline=small_mask))
    return out


def render_review_page(
    audit_csv: Path,
    data_dir: Path,
    top: int = 100,
    model_masks: dict | None = None,
) -> str:
    """The review page (one self-contained HTML document) of the ``top`` suspects.

    Args:
        audit_csv: the audit table (see the module doc).
        data_dir: the build folder the audit scored (``hqseg build`` output).
        model_masks: record id -> the model's mask for it: a bool or 0/1 array (H, W), an
            8-bit mask (> 128 is foreground) or a COCO RLE dict; any size (it is resized).

    Suspects whose record is not in ``data_dir`` (e.g. excluded since) are listed on the
    page, not drawn. Raises DatasetError for a bad audit table or build folder.
    """
    from hqseg.curation.review_page import render_page
    from hqseg.data.records import check_build_folder

    if top < 1:
        raise DatasetError(f"top must be at least 1, not {top}")
    check_build_folder(data_dir)
    rows, numbers = read_audit(audit_csv)
    chosen = top_suspects(rows, top)
    model_masks = model_masks or {}
    shown, absent = [], []
    for suspect, record in _records(Path(data_dir), chosen):
        if record is None:
            absent.append(suspect.id)
            continue
        suspect.thumbs = thumbnails(record, model_masks.get(suspect.id))
        shown.append(suspect)
    if absent:
        log.warning("%d suspect(s) not in %s, listed but not drawn", len(absent), data_dir)
    order = {s.id: i for i, s in enumerate(chosen)}
    shown.sort(key=lambda s: order[s.id])
    return render_page(shown, numbers, total=len(rows), absent=sorted(absent),
                       source_file=Path(audit_csv).name)  # fmt: skip


def write_review_page(
    audit_csv: Path,
    data_dir: Path,
    out_dir: Path,
    top: int = 100,
    model_masks: dict | None = None,
) -> Path:
    """Write ``out_dir/index.html`` (:func:`render_review_page`); return its path.

    ``out_dir`` is a folder the caller owns (``hqseg audit`` writes it into its own output
    folder before that is swapped into place).
    """
    html = render_review_page(audit_csv, data_dir, top, model_masks)
    out = Path(out_dir) / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, html)
    return out
