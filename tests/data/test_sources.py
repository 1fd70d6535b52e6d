"""Each adapter on its generated raw layout (original and repack) yields the right pairs."""

from __future__ import annotations

import pytest

from hqseg.data.schema import Pair, Reject
from hqseg.data.sources import count_pairs, get_source, source_names
from hqseg.errors import DatasetError, HqsegError

CASES = [
    (o, s)
    for o in ("original", "repack")
    for s in source_names()
    if not (o == "repack" and s == "dut_omron")
]


def _items(raw, origin, name):
    return list(get_source(name).iter_pairs(raw(origin) / name))


@pytest.mark.parametrize(("origin", "name"), CASES)
def test_pairs_per_split_match_the_sample_truth(sample, raw, origin, name):
    _, manifest = sample
    pairs, _ = count_pairs(name, raw(origin) / name)
    assert pairs == manifest["adapter_pairs"][origin][name]


@pytest.mark.parametrize(("origin", "name"), CASES)
def test_layout_rejects_match_the_sample_truth(sample, raw, origin, name):
    _, manifest = sample
    expected = sorted(
        (r["reason"], r["file"])
        for r in manifest["rejects"][origin].get(name, [])
        if r["stage"] == "adapter"
    )
    root = raw(origin) / name
    got = sorted(
        (r.reason, r.path.replace(str(root) + "/", ""))
        for r in _items(raw, origin, name)
        if isinstance(r, Reject)
    )
    assert got == expected
    assert all(r.source == name for r in _items(raw, origin, name) if isinstance(r, Reject))


@pytest.mark.parametrize(("origin", "name"), CASES)
def test_pairs_are_sorted_unique_and_exist(raw, origin, name):
    items = _items(raw, origin, name)
    pairs = [p for p in items if isinstance(p, Pair)]
    keys = [(p.split, p.stem) for p in pairs]
    assert keys == sorted(keys)
    assert len({p.stem for p in pairs}) == len(pairs)
    assert all(p.image.is_file() and p.mask.is_file() for p in pairs)
    assert all(p.split in get_source(name).splits for p in pairs)
    assert items == _items(raw, origin, name)  # deterministic


@pytest.mark.parametrize("origin", ["original", "repack"])
def test_fss_stems_categories_and_stray_jpeg(raw, origin):
    pairs = [p for p in _items(raw, origin, "fss1000") if isinstance(p, Pair)]
    by_stem = {p.stem: p for p in pairs}
    assert {p.category for p in pairs} == {
        "abacus",
        "banana_boat",
        "peregine_falcon",
        "wandering_albatross",
    }
    assert all(p.stem.startswith(p.category + "/") for p in pairs)
    assert by_stem["banana_boat/2"].image.suffix == ".jpeg"
    assert by_stem["wandering_albatross/2"].image.suffix == ".jpeg"


def test_thinobject_original_splits_come_from_the_list_files(raw):
    pairs = [p for p in _items(raw, "original", "thinobject5k") if isinstance(p, Pair)]
    assert {p.split for p in pairs} == {"train", "val", "test"}
    assert all(p.stem.startswith(p.split + "_") for p in pairs)


def test_dut_omron_double_nesting_and_macosx_junk(raw):
    root = raw("original") / "dut_omron"
    assert not (root / "__MACOSX").exists()
    pairs = [p for p in _items(raw, "original", "dut_omron") if isinstance(p, Pair)]
    assert pairs[0].image.parent.parent.name == "DUT-OMRON-image"
    assert any(p.image.suffix == ".png" for p in pairs)  # palette PNG image kept


def test_hrsod_declares_object_id_masks():
    assert get_source("hrsod").mask_kind == "object_ids"
    assert get_source("thinobject5k").mask_kind == "alpha"


def test_repack_and_original_agree_on_shared_splits(raw):
    for name in ("dis5k", "duts", "ecssd", "coift", "hrsod"):
        orig = {(p.split, p.stem) for p in _items(raw, "original", name) if isinstance(p, Pair)}
        rep = {(p.split, p.stem) for p in _items(raw, "repack", name) if isinstance(p, Pair)}
        assert orig == rep, name


def test_registry_metadata_and_errors(tmp_path):
    assert source_names() == [
        "dis5k",
        "thinobject5k",
        "fss1000",
        "ecssd",
        "msra10k",
        "duts",
        "dut_omron",
        "coift",
        "hrsod",
    ]
    for name in source_names():
        src = get_source(name)
        assert src.name == name and src.licence and src.citation and src.homepage
    assert "CC BY-NC 4.0" in get_source("thinobject5k").licence
    assert get_source("dis_vd").name == "dis5k"
    with pytest.raises(HqsegError, match="known sources: .*coift.*thinobject5k"):
        get_source("coco")
    with pytest.raises(DatasetError, match="no ecssd layout"):
        list(get_source("ecssd").iter_pairs(tmp_path))


def test_layout_found_inside_wrapper_and_duplicate_folders(raw, tmp_path):
    import shutil

    wrapped = tmp_path / "downloads" / "saliency"
    shutil.copytree(raw("original") / "duts" / "DUTS-TR", wrapped / "DUTS-TR" / "DUTS-TR")
    assert count_pairs("duts", tmp_path / "downloads") == ({"train": 9}, {})
