"""Duplicate groups, leaks and the keep/drop rule."""

from __future__ import annotations

import numpy as np
import pytest

from hqseg.data.dedup import Entry, exact_keys, find_duplicates, near_pairs
from hqseg.data.presets import get_preset


def _e(rid, split, px, ph):
    return Entry(rid, rid.split("/")[0], split, px, ph)


def _run(entries, mode="drop", threshold=4):
    preset = get_preset("official")
    return find_duplicates(
        entries,
        is_train=lambda e: preset.is_train(e.source, e.split),
        is_hq_eval=lambda e: (e.source, e.split) in {("dis5k", "val"), ("coift", "test")},
        source_rank=preset.source_rank,
        mode=mode,
        near_threshold=threshold,
    )


@pytest.mark.parametrize("threshold", [0, 2, 4, 8])
def test_near_pairs_matches_brute_force(threshold):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, 60, dtype=np.uint64)
    flips = rng.integers(0, 64, (60, 6))
    noisy = base.copy()
    for k in range(60):
        for bit in flips[k, : k % 7]:
            noisy[k] ^= np.uint64(1) << np.uint64(bit)
    hashes = np.concatenate([base, noisy])
    expected = sorted(
        (i, j, int(np.bitwise_count(hashes[i] ^ hashes[j])))
        for i in range(len(hashes))
        for j in range(i + 1, len(hashes))
        if np.bitwise_count(hashes[i] ^ hashes[j]) <= threshold
    )
    assert near_pairs(hashes, threshold) == expected
    assert expected  # the test can fail: there are pairs to find


def test_exact_near_and_leak_with_drop():
    entries = [
        _e("ecssd/1", "train", "p1", "ffff0000ffff0000"),
        _e("msra10k/9", "train", "p1", "ffff0000ffff0000"),  # exact dup of ecssd/1
        _e("duts/5", "train", "p2", "ffff0000ffff0003"),  # near dup (2 bits) of both
        _e("dis5k/v", "val", "p3", "0123456789abcdef"),
        _e("dis5k/t", "train", "p3", "0123456789abcdef"),  # leak of dis5k/v
        _e("fss1000/x", "train", "p4", "fedcba9876543210"),  # unique
    ]
    result = _run(entries)
    by_id = {r["id"]: r for r in result.rows}
    assert set(by_id) == {"msra10k/9", "duts/5", "dis5k/t"}
    assert by_id["msra10k/9"]["kind"] == "exact" and by_id["msra10k/9"]["kept_id"] == "ecssd/1"
    assert by_id["duts/5"]["kind"] == "near" and by_id["duts/5"]["distance"] == 2
    assert by_id["dis5k/t"]["leak"] and by_id["dis5k/t"]["kept_id"] == "dis5k/v"
    assert result.dropped == {"msra10k/9", "duts/5", "dis5k/t"}
    assert result.leaks == 1 and result.groups == 2


def test_keep_mode_reports_but_drops_nothing():
    entries = [
        _e("ecssd/1", "train", "p1", "ffff0000ffff0000"),
        _e("msra10k/9", "train", "p1", "ffff0000ffff0000"),
    ]
    result = _run(entries, mode="keep")
    assert result.dropped == set() and [r["action"] for r in result.rows] == ["kept"]


def test_eval_records_are_never_dropped():
    entries = [
        _e("coift/a", "test", "p1", "ffff0000ffff0000"),
        _e("dis5k/v", "val", "p1", "ffff0000ffff0000"),
        _e("dis5k/t", "train", "p1", "ffff0000ffff0000"),
    ]
    result = _run(entries)
    assert result.dropped == {"dis5k/t"}
    assert {r["id"] for r in result.rows} == {"coift/a", "dis5k/t"}  # dis5k/v ranks first
    assert result.leaks == 1


def test_threshold_bounds_near_duplicates():
    entries = [
        _e("ecssd/1", "train", "p1", "ffff0000ffff0000"),
        _e("duts/5", "train", "p2", "ffff0000ffff003f"),  # 6 bits apart
    ]
    assert _run(entries, threshold=4).rows == []
    assert len(_run(entries, threshold=6).rows) == 1


def test_exact_keys_decode_only_candidates():
    asked = []

    def digests(ids):
        asked.append(set(ids))
        return {"a": "same", "b": "same", "c": "other"}

    records = [
        ("a", "sha1", 10, 10, "ph"),  # same look as b, c with other bytes: candidates
        ("b", "sha2", 10, 10, "ph"),
        ("c", "sha3", 10, 10, "ph"),
        ("d", "sha4", 10, 10, "zz"),  # unique look: never decoded
        ("e", "sha4", 10, 10, "zz"),  # same bytes as d
    ]
    keys = exact_keys(records, digests)
    assert asked == [{"a", "b", "c"}]
    assert keys["a"] == keys["b"] != keys["c"]
    assert keys["d"] == keys["e"] != keys["a"]
