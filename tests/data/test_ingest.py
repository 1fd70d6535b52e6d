"""``download_source(..., from_path=...)``: offline ingest with the same verification."""

from __future__ import annotations

import shutil

import pytest

from hqseg.data.download import download_source, is_complete
from hqseg.data.sources import count_pairs
from hqseg.errors import ChecksumError, DatasetError


def _quiet(**kw):
    return dict(progress=False, log=lambda _m: None, **kw)


def test_user_file_with_wrong_checksum_is_refused_but_not_deleted(sample, tmp_path):
    folder, _ = sample
    sums = tmp_path / "SUMS"
    sums.write_text(f"{'f' * 64}  COIFT.zip\n")
    with pytest.raises(ChecksumError, match=r"COIFT.zip.*expected f{64}, computed [0-9a-f]{64}"):
        download_source(
            "coift", from_path=folder, raw_dir=tmp_path / "raw", checksums=sums, **_quiet()
        )
    assert (folder / "coift" / "COIFT.zip").is_file()
    assert not (tmp_path / "raw" / "coift").exists()


def test_catalog_checksum_applies_to_ingested_files(sample, tmp_path):
    folder, _ = sample
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(folder / "repack" / "cascade_psp.zip", lone)  # no SHA256SUMS next to it
    with pytest.raises(ChecksumError, match="285c2401"):
        download_source(
            "ecssd", origin="repack", from_path=lone, raw_dir=tmp_path / "raw", **_quiet()
        )
    manifest = download_source(
        "ecssd",
        origin="repack",
        from_path=lone,
        raw_dir=tmp_path / "raw",
        verify_checksums=False,
        **_quiet(),
    )
    assert manifest["archives"][0]["verified"] is False


def test_failure_midway_leaves_no_folder(sample, tmp_path):
    folder, _ = sample
    broken = tmp_path / "broken"
    (broken / "ecssd").mkdir(parents=True)
    shutil.copy(folder / "ecssd" / "images.zip", broken / "ecssd")
    (broken / "ecssd" / "ground_truth_mask.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match="ground_truth_mask.zip"):
        download_source("ecssd", from_path=broken, raw_dir=tmp_path / "raw", **_quiet())
    assert not (tmp_path / "raw").exists() or not list((tmp_path / "raw").iterdir())


def test_wrong_archive_for_the_source_is_refused(sample, tmp_path):
    folder, _ = sample
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    shutil.copy(folder / "coift" / "COIFT.zip", wrong / "HRSOD.zip")
    with pytest.raises(DatasetError, match="no hrsod layout"):
        download_source("hrsod", from_path=wrong, raw_dir=tmp_path / "raw", **_quiet())
    assert not (tmp_path / "raw" / "hrsod").exists()


def test_already_extracted_folder_is_ingested(raw, sample, tmp_path):
    _, manifest = sample
    src = raw("original") / "duts"
    out = download_source("duts", from_path=src, raw_dir=tmp_path / "raw", **_quiet())
    assert out["archives"] == [] and is_complete(tmp_path / "raw" / "duts")
    pairs, _ = count_pairs("duts", tmp_path / "raw" / "duts")
    assert pairs == manifest["adapter_pairs"]["original"]["duts"]


def test_other_origin_replaces_a_complete_folder(sample, tmp_path):
    folder, _ = sample
    download_source("hrsod", from_path=folder, raw_dir=tmp_path / "raw", **_quiet())
    out = download_source(
        "hrsod", origin="repack", from_path=folder / "repack", raw_dir=tmp_path / "raw", **_quiet()
    )
    assert out["layout"] == "repack"
    assert (tmp_path / "raw/hrsod/thin_object_detection/HRSOD/masks_max255").is_dir()
    assert not (tmp_path / "raw/hrsod/HRSOD").exists()


def test_folder_ingest_never_follows_links_out(raw, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(raw("original") / "coift", src)
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (src / "COIFT" / "images" / "leak.jpg").symlink_to(secret)
    out = download_source("coift", from_path=src, raw_dir=tmp_path / "raw", **_quiet())
    assert [(r["reason"], r["path"].endswith("leak.jpg")) for r in out["rejects"]] == [
        ("link-outside", True)
    ]
    assert not (tmp_path / "raw" / "coift" / "COIFT" / "images" / "leak.jpg").exists()
