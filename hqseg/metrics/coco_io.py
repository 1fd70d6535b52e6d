"""Loading COCO ground truth and segm results with clear errors for bad input.

pycocotools answers a malformed file with an AssertionError or a KeyError deep inside
COCOeval; these loaders check what the evaluation relies on first and raise
:class:`hqseg.errors.DatasetError` naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from pycocotools.coco import COCO

from hqseg.errors import DatasetError
from hqseg.metrics.coco_checks import (
    check_counts,
    check_gt_annotation,
    check_image,
    check_result,
    is_int,
)
from hqseg.metrics.rle import segmentation_to_rle

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


def _check_gt(data: Any, name: str) -> None:
    if not isinstance(data, dict):
        raise DatasetError(f"{name}: COCO ground truth must be a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{name}: COCO ground truth has no '{key}' list")
    images = {}
    for img in data["images"]:
        check_image(img, name)
        images[img["id"]] = img
    for cat in data["categories"]:
        if not isinstance(cat, dict) or not is_int(cat.get("id")):
            raise DatasetError(f"{name}: a category lacks an integer 'id': {cat!r:.80}")
    later: list = []
    for ann in data["annotations"]:
        missing = [k for k in _GT_ANN_KEYS if not isinstance(ann, dict) or k not in ann]
        if missing:
            ann_id = ann.get("id", "?") if isinstance(ann, dict) else "?"
            raise DatasetError(f"{name}: annotation {ann_id!r:.40} lacks {', '.join(missing)}")
        img = images.get(ann["image_id"]) if _hashable(ann["image_id"]) else None
        if img is None:
            raise DatasetError(
                f"{name}: annotation {ann['id']!r:.40} has unknown image_id {ann['image_id']!r:.40}"
            )
        check_gt_annotation(ann, img, f"{name}: annotation {ann['id']!r:.40}", later)
    check_counts(later)


def _hashable(v: Any) -> bool:
    return isinstance(v, (int, str, float)) and not isinstance(v, bool)


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


def _check_results(coco_gt: COCO, data: list, name: str) -> None:
    """Raise for the first bad result; all RLE counts are checked in one pass at the end."""
    cats = set(coco_gt.getCatIds())
    unknown, later = [], []
    for k, r in enumerate(data):
        where = f"{name}: result {k}"
        if not (isinstance(r, dict) and "image_id" in r and "category_id" in r and "score" in r):
            raise DatasetError(f"{where} lacks 'image_id', 'category_id' or 'score'")
        img = coco_gt.imgs.get(r["image_id"]) if _hashable(r["image_id"]) else None
        if img is None:
            unknown.append(r["image_id"])
            continue
        if not _hashable(r["category_id"]) or r["category_id"] not in cats:
            raise DatasetError(
                f"{where} has category_id {r['category_id']!r:.40} not in the ground truth"
            )
        check_result(r, img, where, later)
    check_counts(later)
    if unknown:
        shown = ", ".join(i[:20] for i in sorted(set(map(str, unknown)))[:5])
        raise DatasetError(
            f"{name}: {len(unknown)} results have image_ids not in the ground truth (e.g. {shown})"
        )


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
    _check_results(coco_gt, data, name)
    for r in data:
        if isinstance(r["segmentation"]["counts"], list):  # loadRes wants compressed RLEs
            img = coco_gt.imgs[r["image_id"]]
            r["segmentation"] = segmentation_to_rle(r["segmentation"], img["height"], img["width"])
    with contextlib.redirect_stdout(io.StringIO()):
        return coco_gt.loadRes(data)
