"""Decoding RLEs straight into crops must equal pycocotools' full decode."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from hqseg.metrics import rle_to_crop, segmentation_to_rle
from hqseg.metrics.rle import rle_counts

from .masks_gen import SIZES, random_masks

# pycocotools' decode() trips a numpy 2 DeprecationWarning on every call; it is not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _compressed(m: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


def test_crop_of_compressed_rle_equals_full_decode():
    rng = np.random.default_rng(0)
    for h, w in (*SIZES, (1000, 1300)):
        for m in random_masks(rng, h, w):
            rle = _compressed(m)
            crop = rle_to_crop(rle)
            assert np.array_equal(crop.to_array(), m)
            assert crop.area == int(m.sum())
            if m.any():
                ys, xs = np.nonzero(m)
                assert (crop.y0, crop.x0) == (ys.min(), xs.min())
                assert crop.mask.shape == (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
            str_rle = {"size": rle["size"], "counts": rle["counts"].decode()}
            assert np.array_equal(rle_to_crop(str_rle).to_array(), m)


def test_counts_decoder_handles_long_runs_and_negative_deltas():
    m = np.zeros((2000, 3000), np.uint8)
    m[5:1990, 7:2900] = 1  # long runs, then a much shorter one: large negative deltas
    m[1000, 2950] = 1
    rle = _compressed(m)
    ref = mask_utils.frPyObjects(
        {"size": [2000, 3000], "counts": rle_counts(rle).tolist()}, 2000, 3000
    )
    assert ref["counts"] == rle["counts"]


def test_uncompressed_rle_with_zero_runs_and_polygons():
    h, w = 6, 5
    counts = [0, 3, 0, 2, 4, 0, 0, 1, 20]  # starts with ones, empty runs inside
    rle = {"size": [h, w], "counts": counts}
    full = mask_utils.decode(mask_utils.frPyObjects(rle, h, w))
    assert np.array_equal(rle_to_crop(rle).to_array(), full)
    poly = [[1.0, 1.0, 4.0, 1.0, 4.0, 5.0, 1.0, 5.0]]
    as_rle = segmentation_to_rle(poly, h, w)
    assert np.array_equal(
        rle_to_crop(as_rle).to_array(),
        mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(poly, h, w))),
    )


def test_empty_rle_gives_empty_crop():
    crop = rle_to_crop(_compressed(np.zeros((9, 4))))
    assert crop.area == 0 and crop.mask.size == 0
    assert not crop.to_array().any() and crop.to_array().shape == (9, 4)
