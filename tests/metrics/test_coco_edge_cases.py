"""COCO edge cases, each scored by hqseg and by the references (plain pycocotools for mask
AP, :mod:`.reference` for boundary AP), as detectron2 checks its fast COCOeval.

Every case must give the same 12 stats, bit for bit. "No detections at all" has no
plain-pycocotools call (``loadRes([])`` raises IndexError), so its reference is COCOeval
on a result COCO without annotations: 0 for every stat with ground truth, -1 without.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.metrics import STAT_NAMES, evaluate_coco

from .cocogen import make_coco
from .reference import pycocotools_segm_stats, reference_boundary_stats

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SIZES = ((60, 80), (45, 50), (31, 90))


def _base(seed: int = 3, n: int = 6, **kw) -> tuple[dict, list[dict]]:
    return make_coco(n, sizes=SIZES, seed=seed, **kw)


def _empty_gt_image(gt, res):
    """An image with no annotations at all, but with (false-positive) detections."""
    img = gt["images"][0]["id"]
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] != img]
    assert any(r["image_id"] == img for r in res)
    return gt, res


def _image_without_detections(gt, res):
    img = gt["images"][1]["id"]
    assert any(a["image_id"] == img for a in gt["annotations"])
    return gt, [r for r in res if r["image_id"] != img]


def _no_detections(gt, res):
    return gt, []


def _crowd_heavy(gt, res):
    gt, res = _base(seed=8, crowd_fraction=0.5)
    assert sum(a["iscrowd"] for a in gt["annotations"]) >= 3
    return gt, res


def _many_detections(gt, res):
    """More than 100 detections on one image, with tied scores across the cut."""
    gt, res = _base(seed=4, n=3, objects_per_image=(4, 6), dets_per_object=40.0)
    img = gt["images"][0]["id"]
    mine = [r for r in res if r["image_id"] == img]
    assert len(mine) > 100
    for k, r in enumerate(mine):
        r["score"] = round(0.9 - 0.001 * (k // 3), 4)  # triples of equal scores
    return gt, res


def _category_absent_from_results(gt, res):
    """Category 2 has ground truth but no detections; category 4 has neither."""
    gt["categories"].append({"id": 4, "name": "cat4", "supercategory": "thing"})
    assert any(a["category_id"] == 2 for a in gt["annotations"])
    return gt, [r for r in res if r["category_id"] != 2]


CASES = {
    "baseline": lambda gt, res: (gt, res),
    "empty-gt-image": _empty_gt_image,
    "image-without-detections": _image_without_detections,
    "no-detections-at-all": _no_detections,
    "iscrowd-gt": _crowd_heavy,
    "more-than-100-detections": _many_detections,
    "category-absent-from-results": _category_absent_from_results,
}


def _case(name: str) -> tuple[dict, list[dict]]:
    gt, res = _base()
    return CASES[name](copy.deepcopy(gt), copy.deepcopy(res))


def _values(stats: dict[str, float]) -> np.ndarray:
    assert list(stats) == list(STAT_NAMES)
    return np.array(list(stats.values()))


@pytest.mark.parametrize("use_cats", [True, False], ids=["useCats=1", "useCats=0"])
@pytest.mark.parametrize("name", list(CASES))
def test_edge_case_equals_references(name, use_cats):
    gt, res = _case(name)
    ours = evaluate_coco(gt, res, use_cats=use_cats, workers=1)
    segm = pycocotools_segm_stats(gt, res, use_cats=use_cats)
    boundary = reference_boundary_stats(gt, res, use_cats=use_cats)
    assert np.array_equal(_values(ours["segm"]), segm), (ours["segm"], segm)
    assert np.array_equal(_values(ours["boundary"]), boundary), (ours["boundary"], boundary)


def test_no_detections_scores_zero_where_there_is_ground_truth():
    gt, _ = _case("baseline")
    stats = evaluate_coco(gt, [])
    for iou_type in ("segm", "boundary"):
        assert set(stats[iou_type].values()) <= {0.0, -1.0}
        assert stats[iou_type]["AP"] == 0.0  # there is ground truth: 0, not -1
    gt["annotations"] = []
    assert set(evaluate_coco(gt, [])["segm"].values()) == {-1.0}  # nothing to find: -1


def test_use_cats_changes_the_numbers():
    """The useCats=0 cases are not vacuous: wrong-category detections then match."""
    gt, res = _case("baseline")
    per_cat = evaluate_coco(gt, res)
    pooled = evaluate_coco(gt, res, use_cats=False)
    assert not np.array_equal(_values(per_cat["boundary"]), _values(pooled["boundary"]))


def test_cli_scores_an_empty_results_file(tmp_path):
    gt, _ = _case("baseline")
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text("[]")
    out = tmp_path / "stats.json"
    args = ["--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    r = CliRunner().invoke(main, ["eval", "results", *args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    stats = json.loads(out.read_text())
    assert np.array_equal(list(stats["segm"].values()), pycocotools_segm_stats(gt, []))
    assert np.array_equal(list(stats["boundary"].values()), reference_boundary_stats(gt, []))
