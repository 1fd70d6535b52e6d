"""Loading COCO ground truth and segm results with clear errors for bad input.

pycocotools answers a malformed file with an AssertionError or a KeyError deep inside
COCOeval; these loaders check what the evaluation relies on first and raise
:class:`hqseg.errors.DatasetError` naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import io
import json
import numbers
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools.coco import COCO

from hqseg.errors import DatasetError
from hqseg.metrics.rle import rle_counts, segmentation_to_rle
from hqseg.metrics.rle_batch import counts_many, totals

_GT_ANN_KEYS = ("id", "image_id", "category_id", "segmentation", "area", "iscrowd")


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} file not found")
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise DatasetError(f"{path}: not valid JSON (nested too deeply)") from None


def _check_rle(seg: Any, img: dict, where: str, later: list | None = None) -> None:
    """Check an RLE's form and size; its counts now, or appended to ``later`` for
    :func:`_check_counts` (decoding many at once is several times cheaper)."""
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise DatasetError(f"{where}: segmentation must be an RLE dict with 'size' and 'counts'")
    if [int(s) for s in seg["size"]] != [img["height"], img["width"]]:
        raise DatasetError(
            f"{where}: RLE size {list(seg['size'])} differs from the image size "
            f"{[img['height'], img['width']]}"
        )
    if later is None:
        _check_counts([(seg, img, where)])
    else:
        later.append((seg, img, where))


def _covered(seg: dict) -> int:
    try:
        return int(rle_counts(seg).sum())
    except (ValueError, IndexError, TypeError, UnicodeError):
        return -1


def _check_counts(items: list[tuple[dict, dict, str]]) -> None:
    """Raise for the first (seg, img, where) whose counts do not cover height x width."""
    if not items:
        return
    want = np.array([img["height"] * img["width"] for _, img, _ in items], np.int64)
    try:
        values, bounds, corrupt = counts_many([seg["counts"] for seg, _, _ in items])
        bad = np.flatnonzero(corrupt | (totals(values, bounds) != want))
    except (ValueError, IndexError, TypeError, UnicodeError):  # find the culprit one by one
        bad = [i for i, (seg, _, _) in enumerate(items) if _covered(seg) != want[i]]
    if len(bad):
        where = items[int(bad[0])][2]
        raise DatasetError(f"{where}: RLE counts are corrupt (they do not cover height x width)")


def _check_gt(data: Any, name: str) -> None:
    if not isinstance(data, dict):
        raise DatasetError(f"{name}: COCO ground truth must be a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{name}: COCO ground truth has no '{key}' list")
    images = {}
    for img in data["images"]:
        if not isinstance(img, dict) or not all(k in img for k in ("id", "height", "width")):
            raise DatasetError(
                f"{name}: an image entry lacks 'id', 'height' or 'width': {img!r:.80}"
            )
        images[img["id"]] = img
    later: list = []
    for ann in data["annotations"]:
        missing = [k for k in _GT_ANN_KEYS if not isinstance(ann, dict) or k not in ann]
        if missing:
            raise DatasetError(
                f"{name}: annotation {ann.get('id', '?')} lacks {', '.join(missing)}"
            )
        img = images.get(ann["image_id"])
        if img is None:
            raise DatasetError(
                f"{name}: annotation {ann['id']} has unknown image_id {ann['image_id']}"
            )
        if not isinstance(ann["segmentation"], list):
            _check_rle(ann["segmentation"], img, f"{name}: annotation {ann['id']}", later)
    _check_counts(later)


def load_gt(gt: str | Path | dict | COCO) -> COCO:
    """COCO ground truth from a path, a dict (copied, left unchanged) or a COCO (used as is)."""
    if isinstance(gt, COCO):
        return gt
    if isinstance(gt, dict):
        # COCOeval only reassigns keys of annotation dicts, so copying those one level
        # deep keeps the caller's dict unchanged at a fraction of a deepcopy's cost
        name, data = "ground truth", dict(gt)
        if isinstance(gt.get("annotations"), list):
            data["annotations"] = [dict(a) if isinstance(a, dict) else a for a in gt["annotations"]]
    else:
        name = str(gt)
        data = _read_json(Path(gt), "ground-truth")
    _check_gt(data, name)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def empty_results(coco_gt: COCO) -> COCO:
    """A result COCO with no detections: COCOeval scores it 0 wherever there is ground truth.

    pycocotools' own ``loadRes([])`` fails (IndexError); this is what it would build.
    """
    coco = COCO()
    coco.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": list(coco_gt.dataset["categories"]),
        "annotations": [],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_results(coco_gt: COCO, results: str | Path | list) -> COCO:
    """Segm results (a path or a list of dicts, not modified) as a pycocotools result COCO.

    An empty list is valid: no detections (see :func:`empty_results`). Every result
    needs ``image_id`` (in the ground truth), ``category_id`` (a GT category), a numeric
    ``score`` and an RLE ``segmentation`` of its image's size (uncompressed RLEs are
    compressed here; pycocotools would fail on them).
    """
    if isinstance(results, list):
        name, data = "results", [dict(r) if isinstance(r, dict) else r for r in results]
    else:
        name = str(results)
        data = _read_json(Path(results), "results")
    if not isinstance(data, list):
        raise DatasetError(f"{name}: results must be a JSON list of detections")
    if not data:
        return empty_results(coco_gt)
    cats = set(coco_gt.getCatIds())
    unknown, later = [], []
    for k, r in enumerate(data):
        where = f"{name}: result {k}"
        if not isinstance(r, dict) or not all(x in r for x in ("image_id", "category_id", "score")):
            raise DatasetError(f"{where} lacks 'image_id', 'category_id' or 'score'")
        img = coco_gt.imgs.get(r["image_id"])
        if img is None:
            unknown.append(r["image_id"])
            continue
        if r["category_id"] not in cats:
            raise DatasetError(
                f"{where} has category_id {r['category_id']} not in the ground truth"
            )
        score = r["score"]
        if isinstance(score, bool) or not isinstance(score, numbers.Real):
            raise DatasetError(f"{where} has a non-numeric score {score!r}")
        _check_rle(r.get("segmentation"), img, where, later)
    _check_counts(later)
    if unknown:
        shown = ", ".join(str(i) for i in sorted(set(unknown), key=str)[:5])
        raise DatasetError(
            f"{name}: {len(unknown)} results have image_ids not in the ground truth (e.g. {shown})"
        )
    for r in data:
        if isinstance(r["segmentation"]["counts"], list):  # loadRes wants compressed RLEs
            img = coco_gt.imgs[r["image_id"]]
            r["segmentation"] = segmentation_to_rle(r["segmentation"], img["height"], img["width"])
    with contextlib.redirect_stdout(io.StringIO()):
        return coco_gt.loadRes(data)
