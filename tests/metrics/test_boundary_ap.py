"""Mask AP equals pycocotools; boundary AP equals the boundary-iou-api reference wiring."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from hqseg.metrics import STAT_NAMES, BoundaryCOCOeval, IoUCache, evaluate_coco
from hqseg.metrics import boundary_pass as boundary_pass_module
from hqseg.metrics.coco_io import load_gt

from .cocogen import DEFAULT_SIZES, make_coco, uncompressed_rle
from .reference import pycocotools_segm_stats, reference_boundary_stats

# pycocotools' decode() trips a numpy 2 DeprecationWarning on every call; it is not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _values(stats: dict[str, float]) -> np.ndarray:
    assert list(stats) == list(STAT_NAMES)
    return np.array(list(stats.values()))


@pytest.fixture(scope="module")
def coco_set():
    """Crowd GT, 3 categories, polygons + RLEs, several detections per image, x.5 sizes."""
    return make_coco(24, sizes=DEFAULT_SIZES, seed=5)


@pytest.fixture(scope="module")
def reference(coco_set):
    gt, res = coco_set
    return {"segm": pycocotools_segm_stats(gt, res), "boundary": reference_boundary_stats(gt, res)}


def test_generated_set_covers_the_hard_cases(coco_set):
    gt, res = coco_set
    anns = gt["annotations"]
    assert any(a["iscrowd"] for a in anns)
    assert any(isinstance(a["segmentation"], list) for a in anns)
    assert any(isinstance(a["segmentation"], dict) and not a["iscrowd"] for a in anns)
    assert len({a["category_id"] for a in anns}) == 3
    assert len(res) > 2 * len(gt["images"])


def test_mask_ap_equals_pycocotools(coco_set, reference):
    gt, res = coco_set
    stats = evaluate_coco(gt, res, ("segm",))
    assert np.array_equal(_values(stats["segm"]), reference["segm"])


def test_boundary_ap_equals_reference_serial_and_parallel(coco_set, reference, monkeypatch):
    gt, res = coco_set
    gt_before, res_before = copy.deepcopy(gt), copy.deepcopy(res)
    both = evaluate_coco(gt, res, workers=1)
    assert np.array_equal(_values(both["segm"]), reference["segm"])
    assert np.array_equal(_values(both["boundary"]), reference["boundary"])
    assert not np.array_equal(reference["segm"], reference["boundary"])
    assert gt == gt_before and res == res_before  # inputs untouched
    monkeypatch.setattr(boundary_pass_module, "PARALLEL_MIN_ANNOTATIONS", 0)
    parallel = evaluate_coco(gt, res, ("boundary",), workers=2)
    assert np.array_equal(_values(parallel["boundary"]), reference["boundary"])


def test_gt_ignore_flag_is_honoured_like_boundary_iou_api():
    gt, res = make_coco(10, seed=11, crowd_fraction=0.0)
    for ann in gt["annotations"][::3]:
        ann["ignore"] = 1
    ours = _values(evaluate_coco(gt, res, ("boundary",))["boundary"])
    assert np.array_equal(ours, reference_boundary_stats(gt, res))
    without = copy.deepcopy(gt)
    for ann in without["annotations"]:
        ann.pop("ignore", None)
    assert not np.array_equal(ours, reference_boundary_stats(without, res))


@pytest.mark.parametrize(
    ("size", "mistake"),
    [
        ((375, 500), {"rounding": lambda x: math.floor(x + 0.5)}),  # 12.5 -> 13, not 12
        ((375, 500), {"rounding": math.ceil}),
        ((189, 648), {"rounding": int}),  # 13.5 -> 13, not 14
        ((375, 500), {"pad": False}),  # border pixels never become boundary
    ],
)
def test_data_is_sensitive_to_classic_mistakes(size, mistake):
    gt, res = make_coco(16, sizes=(size,), seed=1)
    right = reference_boundary_stats(gt, res)
    assert np.array_equal(_values(evaluate_coco(gt, res, ("boundary",))["boundary"]), right)
    assert not np.array_equal(reference_boundary_stats(gt, res, **mistake), right)


def test_numpy_round_is_not_a_mistake():
    gt, res = make_coco(16, sizes=((375, 500),), seed=1)
    assert np.array_equal(
        reference_boundary_stats(gt, res, rounding=np.round), reference_boundary_stats(gt, res)
    )


def test_results_with_bbox_use_pycocotools_box_area(coco_set, reference):
    # loadRes takes the box area for range filtering when results carry a bbox; both
    # references do the same, so the numbers must still agree with them
    gt, res = coco_set
    boxed = [dict(r, bbox=[0.0, 0.0, 10.0, 10.0]) for r in res]
    ours = evaluate_coco(gt, boxed)
    assert np.array_equal(_values(ours["segm"]), pycocotools_segm_stats(gt, boxed))
    assert np.array_equal(_values(ours["boundary"]), reference_boundary_stats(gt, boxed))


def test_unknown_iou_type_is_rejected(coco_set):
    with pytest.raises(ValueError, match="unknown iou types"):
        evaluate_coco(*coco_set, ("bbox",))


def test_inputs_as_paths_coco_objects_and_uncompressed_results(tmp_path, coco_set, reference):
    gt, res = coco_set
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    from_files = evaluate_coco(tmp_path / "gt.json", str(tmp_path / "res.json"))
    assert np.array_equal(_values(from_files["boundary"]), reference["boundary"])
    from_coco = evaluate_coco(load_gt(gt), res, ("segm",))
    assert np.array_equal(_values(from_coco["segm"]), reference["segm"])
    loose = [
        dict(r, segmentation=uncompressed_rle(mask_utils.decode(r["segmentation"]))) for r in res
    ]
    assert np.array_equal(_values(evaluate_coco(gt, loose)["boundary"]), reference["boundary"])


def test_evaluator_class_used_like_cocoeval_shares_work_through_a_cache(coco_set, reference):
    gt, res = coco_set
    coco_gt = load_gt(gt)
    cache = IoUCache(coco_gt)
    coco_dt = coco_gt.loadRes(copy.deepcopy(res))
    few = BoundaryCOCOeval(coco_gt, coco_dt, "boundary", cache=cache)
    few.params.maxDets = [1, 2, 3]  # fewer detections scored first ...
    few.evaluate()
    ev = BoundaryCOCOeval(coco_gt, coco_dt, "boundary", cache=cache)
    ev.evaluate()  # ... then all: the pairs not done yet must be computed now
    ev.accumulate()
    ev.summarize()
    assert np.array_equal(ev.stats, reference["boundary"])
