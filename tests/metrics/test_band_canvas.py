"""Pair boundary IoUs on shared canvases equal the one-at-a-time crop rule, bit for bit."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from hqseg.metrics import band_canvas
from hqseg.metrics.band_canvas import pair_boundary_ious
from hqseg.metrics.rle import crop_boundary, crop_iou, rle_to_crop

from .cocogen import make_coco

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _expected(rles, d, a, b):
    bands = [crop_boundary(rle_to_crop(r), w) for r, w in zip(rles, d, strict=True)]
    return [crop_iou(bands[i], bands[j]) for i, j in zip(a, b, strict=True)]


def _set(seed: int):
    """RLEs of several image sizes (so several d), their d, and all same-size pairs."""
    gt, res = make_coco(6, seed=seed)
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    rles = [r["segmentation"] for r in res]
    d = [max(1, (sizes[r["image_id"]][0] + sizes[r["image_id"]][1]) // 70) for r in res]
    # a touching pair of runs (zero-length zero run) and an empty mask
    rles.append({"size": [20, 10], "counts": [3, 4, 0, 5, 188]})
    rles.append(mask_utils.encode(np.zeros((20, 10), np.uint8, order="F")))
    d += [2, 2]
    owner = [r["image_id"] for r in res] + [-1, -1]
    pairs = [(i, j) for i in range(len(rles)) for j in range(len(rles)) if owner[i] == owner[j]]
    a, b = (list(x) for x in zip(*pairs, strict=True))
    return rles, d, a, b


@pytest.mark.parametrize("canvas_pixels", [1 << 22, 50])
def test_pair_ious_equal_crop_iou(monkeypatch, canvas_pixels):
    monkeypatch.setattr(band_canvas, "_CANVAS_PIXELS", canvas_pixels)
    rles, d, a, b = _set(seed=3)
    got = pair_boundary_ious(rles, d, a, b)
    want = _expected(rles, d, a, b)
    assert got.tolist() == want  # exact: same integer counts, one float division
    assert any(0.0 < v < 1.0 for v in want) and max(want) == 1.0  # self pairs included
    assert sum(v == 0.0 for v in want) > 0


def test_no_pairs_and_no_masks():
    assert pair_boundary_ious([], 1, [], []).size == 0
    rles, d, _, _ = _set(seed=4)
    assert pair_boundary_ious(rles, d, [], []).size == 0
