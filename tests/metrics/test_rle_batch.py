"""Batched RLE decoding equals the one-at-a-time functions (and pycocotools)."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from hqseg.metrics.rle import crop_boundary, rle_counts, rle_to_crop
from hqseg.metrics.rle_batch import boundary_bands, counts_many, totals

from .cocogen import make_coco, uncompressed_rle

# pycocotools' decode() trips a numpy 2 DeprecationWarning on every call; it is not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _compressed(mask: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def _masks(rng: np.random.Generator) -> list[np.ndarray]:
    """Empty, full, one pixel, border-touching, many-run and large-count masks."""
    masks = [np.zeros((7, 5)), np.ones((6, 9)), np.zeros((300, 400))]
    masks[2][299, 399] = 1
    one = np.zeros((40, 30))
    one[0, 0] = 1
    masks.append(one)
    for h, w in ((20, 30), (64, 48), (5, 200), (480, 640)):
        for density in (0.05, 0.5, 0.95):
            masks.append(rng.random((h, w)) < density)
        block = np.zeros((h, w))
        block[h // 4 : h - 1, w // 3 :] = 1  # runs crossing columns, touching the bottom
        masks.append(block)
    return [m.astype(np.uint8) for m in masks]


def test_counts_many_equals_rle_counts_for_strings_bytes_and_lists():
    rng = np.random.default_rng(0)
    rles = [_compressed(m) for m in _masks(rng)]
    counts = [r["counts"] for r in rles]  # bytes
    counts += [r["counts"].decode() for r in rles]  # str
    counts += [uncompressed_rle(m)["counts"] for m in _masks(rng)]  # lists
    counts.insert(3, b"")
    values, bounds, corrupt = counts_many(counts)
    assert not corrupt.any()
    for i, c in enumerate(counts):
        assert np.array_equal(values[bounds[i] : bounds[i + 1]], rle_counts({"counts": c}))
    sizes = [int(np.prod(r["size"])) for r in rles]
    expected = sizes[:3] + [0] + sizes[3:] + sizes + sizes
    assert totals(values, bounds).tolist() == expected


def test_counts_many_flags_a_string_cut_inside_a_value():
    good = _compressed(np.random.default_rng(1).random((50, 60)) < 0.5)["counts"]
    cut = good + b"P"  # 'P' - 48 = 32: continuation bit set, then the string ends
    _, _, corrupt = counts_many([good, cut, good])
    assert corrupt.tolist() == [False, True, False]


@pytest.mark.parametrize("d", [1, 3, 16])
def test_boundary_bands_equal_crop_boundary(d):
    rng = np.random.default_rng(d)
    rles = [_compressed(m) for m in _masks(rng)]
    gt, res = make_coco(6, seed=d)
    rles += [r["segmentation"] for r in res]
    bands = boundary_bands(rles, d)
    for rle, band in zip(rles, bands, strict=True):
        want = crop_boundary(rle_to_crop(rle), d)
        assert band.area == want.area
        assert np.array_equal(band.to_array(), want.to_array())
        if want.area:
            assert (band.y0, band.x0, band.mask.shape) == (want.y0, want.x0, want.mask.shape)


def test_boundary_bands_in_small_buffers(monkeypatch):
    from hqseg.metrics import rle_batch

    monkeypatch.setattr(rle_batch, "_BUFFER_PIXELS", 100)
    rles = [_compressed(m) for m in _masks(np.random.default_rng(5))]
    for rle, band in zip(rles, boundary_bands(rles, 2), strict=True):
        assert np.array_equal(band.to_array(), crop_boundary(rle_to_crop(rle), 2).to_array())
