"""Parallel normalisation writes exactly what the in-process path writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from build_helpers import blob, ecssd_raw, photo, save

from hqseg.data.convert import Converted, convert_pair
from hqseg.data.normalize import normalize_source
from hqseg.data.schema import Pair
from hqseg.errors import DatasetError


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_workers_write_the_same_bytes_as_one_process(tmp_path):
    raw = tmp_path / "raw"
    src = ecssd_raw(raw, 12)
    # conversions that store new bytes (greyscale image -> PNG, RGB mask -> L PNG) and a reject
    save(photo(50)[..., 0], src / "images" / "0100.jpg", quality=90)
    save(blob(), src / "ground_truth_mask" / "0100.png")
    save(photo(51), src / "images" / "0101.jpg", quality=90)
    save(np.repeat(blob()[..., None], 3, axis=2), src / "ground_truth_mask" / "0101.png")
    save(photo(52), src / "images" / "0102.jpg", quality=90)
    save(np.zeros_like(blob()), src / "ground_truth_mask" / "0102.png")
    one = normalize_source("ecssd", raw, tmp_path / "one", workers=1, progress=False)
    two = normalize_source("ecssd", raw, tmp_path / "two", workers=2, progress=False)
    assert one == two and one["records"] == 14 and one["rejects"] == 1
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


@pytest.fixture
def pair(tmp_path):
    img = save(photo(1), tmp_path / "a.jpg", quality=90)
    msk = save(blob(grey=200), tmp_path / "a.png")
    return Pair(image=img, mask=msk, split="train", stem="a")


def test_deferred_bytes_are_read_back_identical(pair):
    full = convert_pair("ecssd", pair)
    deferred = convert_pair("ecssd", pair, defer_file_bytes=True)
    assert isinstance(deferred, Converted) and set(deferred.deferred) == {"image", "mask"}
    assert deferred.row["image"]["bytes"] is None and deferred.row["mask"]["bytes"] is None
    deferred.load_deferred()
    assert deferred.row == full.row and deferred.deferred == {}


def test_a_file_changed_after_conversion_is_an_error(pair):
    out = convert_pair("ecssd", pair, defer_file_bytes=True)
    save(photo(2), pair.image, quality=90)
    stat = os.stat(pair.image)
    os.utime(pair.image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(DatasetError, match="a.jpg"):
        out.load_deferred()


def test_a_file_removed_after_conversion_is_an_error(pair):
    out = convert_pair("ecssd", pair, defer_file_bytes=True)
    pair.mask.unlink()
    with pytest.raises(DatasetError, match="a.png"):
        out.load_deferred()
