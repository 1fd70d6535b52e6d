"""The vectorised COCOeval matching/accumulation equals pycocotools array for array."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.cocoeval import COCOeval

from hqseg.metrics import BoundaryCOCOeval
from hqseg.metrics.coco_io import load_gt, load_results

from .cocogen import make_coco

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _tied(gt: dict, res: list) -> tuple[dict, list]:
    """Duplicate some GT (equal IoUs: ties between GT) and detections (equal scores)."""
    gt, res = copy.deepcopy(gt), copy.deepcopy(res)
    next_id = max(a["id"] for a in gt["annotations"]) + 1
    for ann in gt["annotations"][::4]:
        gt["annotations"].append(dict(copy.deepcopy(ann), id=next_id))
        next_id += 1
    res += [copy.deepcopy(r) for r in res[::3]]
    gt["annotations"][0]["id"] = 0  # pycocotools treats a match to GT id 0 as no match
    return gt, res


def _eval(cls, gt: dict, res: list, params: dict) -> dict:
    coco_gt = load_gt(gt)
    coco_dt = load_results(coco_gt, res)
    ev = cls(coco_gt, coco_dt, "segm")
    for name, value in params.items():
        setattr(ev.params, name, value)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: np.asarray(ev.eval[k]) for k in ("precision", "recall", "scores")} | {
        "stats": np.asarray(ev.stats)
    }


PARAMS = [
    {},
    {"maxDets": [1, 3, 5]},
    {"iouThrs": np.array([0.0, 0.3, 0.5, 1.0])},
    {"areaRng": [[0, 1e10], [0, 200], [200, 5000], [5000, 1e10]], "recThrs": np.linspace(0, 1, 11)},
    {"imgIds": [3, 1, 7, 5], "catIds": [2, 3]},
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(p) or "default")
@pytest.mark.parametrize("tied", [False, True], ids=["plain", "ties+id0"])
def test_segm_eval_arrays_equal_pycocotools(params, tied):
    gt, res = make_coco(10, objects_per_image=(2, 9), dets_per_object=2.5, seed=7)
    if tied:
        gt, res = _tied(gt, res)
    ours = _eval(BoundaryCOCOeval, gt, res, params)
    ref = _eval(COCOeval, gt, res, params)
    for key, value in ref.items():
        assert np.array_equal(ours[key], value), key


def test_eval_imgs_on_demand_equal_pycocotools():
    gt, res = make_coco(4, seed=3)
    coco_gt = load_gt(gt)
    ours = BoundaryCOCOeval(coco_gt, load_results(coco_gt, res), "segm")
    ref = COCOeval(load_gt(gt), load_results(load_gt(gt), res), "segm")
    with contextlib.redirect_stdout(io.StringIO()):
        ours.evaluate()
        ref.evaluate()
    got = ours.eval_imgs()
    assert len(got) == len(ref.evalImgs)
    for a, b in zip(got, ref.evalImgs, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a["dtIds"] == b["dtIds"] and a["gtIds"] == b["gtIds"]
            assert np.array_equal(a["dtMatches"], b["dtMatches"])
            assert np.array_equal(a["dtIgnore"], b["dtIgnore"])
