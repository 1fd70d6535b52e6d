"""The boundary rule of FACTS §4 on numpy arrays and RLEs, against the slow reference."""

from __future__ import annotations

import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from hqseg.metrics import (
    boundary,
    boundary_dilation,
    boundary_iou,
    boundary_iou_rle,
    boundary_rle,
    mask_iou,
    mask_iou_rle,
)

from .masks_gen import SIZES, random_masks
from .reference import reference_boundary, reference_d

# pycocotools' decode() trips a numpy 2 DeprecationWarning on every call; it is not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _rle(m: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


@pytest.mark.parametrize(
    ("h", "w", "d"),
    [(375, 500, 12), (189, 648, 14), (480, 640, 16), (7, 24, 1), (21, 72, 2), (1, 1, 1)],
)
def test_d_rounds_half_to_even_and_is_at_least_one(h, w, d):
    assert boundary_dilation(h, w) == d == reference_d(h, w)


def test_half_cases_differ_from_common_rounding_mistakes():
    assert reference_d(375, 500, lambda x: math.floor(x + 0.5)) == 13  # half up: wrong at 12.5
    assert reference_d(189, 648, int) == 13  # truncation: wrong at 13.5
    assert reference_d(375, 500, np.round) == 12  # numpy also rounds half to even


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_boundary_equals_reference_bit_for_bit(h, w):
    rng = np.random.default_rng(h * 1000 + w)
    for m in random_masks(rng, h, w):
        ref = reference_boundary(m)
        assert np.array_equal(boundary(m).astype(np.uint8), ref)
        assert np.array_equal(mask_utils.decode(boundary_rle(_rle(m))), ref)


def test_opencv_reference_equals_numpy_reference():
    # the benchmark's baseline erodes with OpenCV (as boundary-iou-api); it must be the rule
    rng = np.random.default_rng(3)
    for h, w in SIZES[:4]:
        for m in random_masks(rng, h, w):
            assert np.array_equal(reference_boundary(m, fast_erode=True), reference_boundary(m))


def test_mask_at_border_keeps_its_border_pixels_in_the_boundary():
    m = np.ones((375, 500), np.uint8)
    b = boundary(m)
    assert b[0].all() and b[-1].all() and b[:, 0].all() and b[:, -1].all()
    assert not b[12:-12, 12:-12].any() and b[11, 100]
    assert not np.array_equal(reference_boundary(m, pad=False), reference_boundary(m))


def test_explicit_d_overrides_the_image_rule():
    m = np.zeros((50, 50), np.uint8)
    m[10:40, 10:40] = 1
    assert boundary(m, d=3).sum() == 30 * 30 - 24 * 24
    assert mask_utils.area(boundary_rle(_rle(m), d=3)) == 30 * 30 - 24 * 24


def test_ious_on_arrays_and_rles_agree_with_reference_formula():
    rng = np.random.default_rng(7)
    h, w = 375, 500
    masks = random_masks(rng, h, w)[2:]
    for a in masks:
        for b in masks:
            ba, bb = reference_boundary(a), reference_boundary(b)
            union = np.logical_or(ba, bb).sum()
            expected = np.logical_and(ba, bb).sum() / union if union else 0.0
            assert boundary_iou_rle(_rle(a), _rle(b)) == expected
            if union:
                assert boundary_iou(a, b) == pytest.approx(expected, abs=0)
            inter, uni = np.logical_and(a, b).sum(), np.logical_or(a, b).sum()
            assert mask_iou_rle(_rle(a), _rle(b)) == (inter / uni if inter else 0.0)
            assert mask_iou(a, b) == inter / uni


def test_crowd_mask_iou_divides_by_detection_area():
    g = np.zeros((20, 20), np.uint8)
    g[:, :10] = 1
    d = np.zeros((20, 20), np.uint8)
    d[:10, :] = 1
    assert mask_iou_rle(_rle(g), _rle(d), iscrowd=True) == 100 / 200


def test_boundary_iou_rle_rejects_size_mismatch():
    with pytest.raises(ValueError, match="sizes differ"):
        boundary_iou_rle(_rle(np.ones((4, 5))), _rle(np.ones((5, 4))))
