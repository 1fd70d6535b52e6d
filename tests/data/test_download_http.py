"""Downloads over a real HTTP server on 127.0.0.1 serving the generated archives."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile

import pytest

from hqseg.data.download import download_source, is_complete, manifest_rejects, read_manifest
from hqseg.errors import ChecksumError, HqsegError


def _serve_ecssd(sample, http_server):
    folder, _ = sample
    for name in ("images.zip", "ground_truth_mask.zip"):
        http_server.files[name] = (folder / "ecssd" / name).read_bytes()
    return {n: hashlib.sha256(d).hexdigest() for n, d in http_server.files.items()}


def _padded(data: bytes, size: int = 1_600_000) -> bytes:
    """The zip ``data`` plus an incompressible stored member, so that a transfer cut in
    the middle has already written whole chunks (gdown reads 512 KiB at a time)."""
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        pad = random.Random(0).randbytes(size)
        zf.writestr(zipfile.ZipInfo("images/padding.bin", (1980, 1, 1, 0, 0, 0)), pad)
    return buf.getvalue()


def _sums_file(tmp_path, sums):
    path = tmp_path / "SHA256SUMS"
    path.write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    return path


def _download(tmp_path, http_server, **kw):
    return download_source(
        "ecssd",
        raw_dir=tmp_path / "raw",
        cache_dir=tmp_path / "cache",
        mirrors=[http_server.url],
        retries=0,
        progress=False,
        log=lambda _m: None,
        **kw,
    )


def test_checksum_pass(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    manifest = _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    assert [a["verified"] for a in manifest["archives"]] == [True, True]
    assert {a["sha256_computed"] for a in manifest["archives"]} == set(sums.values())
    assert (tmp_path / "cache" / "images.zip").read_bytes() == http_server.files["images.zip"]
    assert is_complete(tmp_path / "raw" / "ecssd")
    assert (tmp_path / "raw" / "ecssd" / "images" / "0001.jpg").is_file()
    assert [r.reason for r in manifest_rejects(tmp_path / "raw" / "ecssd")] == ["unsafe-path"]


def test_unknown_checksum_is_recorded(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    manifest = _download(tmp_path, http_server)
    assert [a["verified"] for a in manifest["archives"]] == [None, None]
    assert [a["sha256_computed"] for a in manifest["archives"]] == [
        sums["images.zip"],
        sums["ground_truth_mask.zip"],
    ]


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    wrong = dict(sums, **{"images.zip": "0" * 64})
    with pytest.raises(ChecksumError) as err:
        _download(tmp_path, http_server, checksums=_sums_file(tmp_path, wrong))
    msg = str(err.value)
    assert "images.zip" in msg and "0" * 64 in msg and sums["images.zip"] in msg
    assert not (tmp_path / "cache" / "images.zip").exists()
    assert not list((tmp_path / "cache" / ".incoming").iterdir())
    assert not (tmp_path / "raw" / "ecssd").exists()
    assert not [p for p in (tmp_path / "raw").iterdir()]  # no half-extracted temp folder


def test_no_verify_accepts_mismatch_and_records_it(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    wrong = dict(sums, **{"images.zip": "0" * 64})
    messages = []
    manifest = download_source(
        "ecssd",
        raw_dir=tmp_path / "raw",
        cache_dir=tmp_path / "cache",
        mirrors=[http_server.url],
        checksums=_sums_file(tmp_path, wrong),
        verify_checksums=False,
        progress=False,
        log=messages.append,
    )
    first = manifest["archives"][0]
    assert first["verified"] is False and first["sha256_computed"] == sums["images.zip"]
    assert any("MISMATCH" in m for m in messages)
    on_disk = json.loads((tmp_path / "raw/ecssd/.hqseg/download.json").read_text())
    assert on_disk["archives"][0]["sha256_expected"] == "0" * 64


def test_cut_connection_resumes_to_the_right_bytes(sample, http_server, tmp_path):
    _serve_ecssd(sample, http_server)
    http_server.files["images.zip"] = full = _padded(http_server.files["images.zip"])
    sums = {n: hashlib.sha256(d).hexdigest() for n, d in http_server.files.items()}
    http_server.cut.add("images.zip")
    with pytest.raises(HqsegError, match="resumed on the next run"):
        _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    partial = list((tmp_path / "cache" / ".incoming").glob("images.zip*.part"))
    assert len(partial) == 1
    kept = partial[0].stat().st_size
    assert 0 < kept <= len(full) // 2
    assert partial[0].read_bytes() == full[:kept]
    assert not (tmp_path / "raw" / "ecssd").exists()

    manifest = _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    assert ("images.zip", f"bytes={kept}-") in http_server.requests
    assert manifest["archives"][0]["verified"] is True
    assert (tmp_path / "cache" / "images.zip").read_bytes() == full
    assert not list((tmp_path / "cache" / ".incoming").glob("*.part"))


def test_retry_within_one_call_resumes(sample, http_server, tmp_path):
    _serve_ecssd(sample, http_server)
    http_server.files["images.zip"] = _padded(http_server.files["images.zip"])
    sums = {n: hashlib.sha256(d).hexdigest() for n, d in http_server.files.items()}
    http_server.cut.add("images.zip")
    manifest = download_source(
        "ecssd",
        raw_dir=tmp_path / "raw",
        cache_dir=tmp_path / "cache",
        mirrors=[http_server.url],
        checksums=_sums_file(tmp_path, sums),
        retries=2,
        progress=False,
        log=lambda _m: None,
    )
    assert [a["verified"] for a in manifest["archives"]] == [True, True]
    assert any(r and r.startswith("bytes=") for n, r in http_server.requests if n == "images.zip")


def test_missing_file_on_server_names_what_was_tried(http_server, tmp_path):
    with pytest.raises(
        HqsegError, match=r"(?s)could not download MSRA10K_Imgs_GT.zip.*127\.0\.0\.1.*404"
    ):
        download_source(
            "msra10k",
            raw_dir=tmp_path / "raw",
            cache_dir=tmp_path / "cache",
            mirrors=[http_server.url],
            retries=0,
            progress=False,
            log=lambda _m: None,
        )


def test_second_run_is_a_noop_and_uses_the_cache(sample, http_server, tmp_path):
    _serve_ecssd(sample, http_server)
    _download(tmp_path, http_server)
    n_requests = len(http_server.requests)
    messages = []
    download_source(
        "ecssd",
        raw_dir=tmp_path / "raw",
        cache_dir=tmp_path / "cache",
        mirrors=[http_server.url],
        progress=False,
        log=messages.append,
    )
    assert any("nothing to do" in m for m in messages)
    # an incomplete folder (no manifest) is not trusted: redone from the cache, no network
    (tmp_path / "raw/ecssd/.hqseg/download.json").unlink()
    assert read_manifest(tmp_path / "raw" / "ecssd") is None
    manifest = _download(tmp_path, http_server)
    assert manifest["archives"][0]["from"] == "cache"
    assert len(http_server.requests) == n_requests
    assert is_complete(tmp_path / "raw" / "ecssd")


def test_shared_repack_bundle_is_downloaded_once(sample, http_server, tmp_path):
    folder, _ = sample
    http_server.files["cascade_psp.zip"] = (folder / "repack" / "cascade_psp.zip").read_bytes()
    for name in ("ecssd", "msra10k", "duts"):
        out = download_source(
            name,
            origin="repack",
            raw_dir=tmp_path / "raw",
            cache_dir=tmp_path / "cache",
            mirrors=[http_server.url],
            checksums=folder / "SHA256SUMS",
            progress=False,
            log=lambda _m: None,
        )
        assert out["archives"][0]["verified"] is True
    assert [n for n, _ in http_server.requests] == ["cascade_psp.zip"]
    assert sorted(p.name for p in (tmp_path / "raw" / "duts").iterdir()) == [
        ".hqseg",
        "DUTS-TE",
        "DUTS-TR",
    ]


def _cut_once(sample, http_server, tmp_path):
    """Leave a partial images.zip in .incoming (a cut transfer); return the sums."""
    _serve_ecssd(sample, http_server)
    http_server.files["images.zip"] = _padded(http_server.files["images.zip"])
    sums = {n: hashlib.sha256(d).hexdigest() for n, d in http_server.files.items()}
    http_server.cut.add("images.zip")
    with pytest.raises(HqsegError):
        _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    assert list((tmp_path / "cache" / ".incoming").glob("images.zip*.part"))
    return sums


@pytest.mark.parametrize("refusal", ["no_range", "refuse_range"])
def test_server_refusing_range_restarts_from_zero(sample, http_server, tmp_path, refusal):
    sums = _cut_once(sample, http_server, tmp_path)
    getattr(http_server, refusal).add("images.zip")
    manifest = _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    assert manifest["archives"][0]["verified"] is True
    assert (tmp_path / "cache" / "images.zip").read_bytes() == http_server.files["images.zip"]
    ranges = [r for n, r in http_server.requests if n == "images.zip"]
    assert ranges[-2].startswith("bytes=") and ranges[-1] is None  # tried to resume, restarted
    assert not list((tmp_path / "cache" / ".incoming").glob("*.part"))


def test_file_failing_extraction_is_never_cached(sample, http_server, tmp_path):
    _serve_ecssd(sample, http_server)
    good = http_server.files["images.zip"]
    http_server.files["images.zip"] = b"<!DOCTYPE html><html>sign in to continue</html>"
    with pytest.raises(HqsegError, match="HTML") as err:
        _download(tmp_path, http_server)  # no known hash: only extraction can tell
    assert "deleted" in str(err.value)
    assert not (tmp_path / "cache" / "images.zip").exists()
    assert not list((tmp_path / "cache" / ".incoming").iterdir())
    http_server.files["images.zip"] = good  # a good mirror now: fetched, not the bad copy
    manifest = _download(tmp_path, http_server)
    assert manifest["archives"][0]["from"].startswith("http://127.0.0.1")
    assert (tmp_path / "cache" / "images.zip").read_bytes() == good


def test_cached_file_failing_verification_is_refetched(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "images.zip").write_bytes(b"poisoned")
    manifest = _download(tmp_path, http_server, checksums=_sums_file(tmp_path, sums))
    assert manifest["archives"][0]["verified"] is True
    assert (tmp_path / "cache" / "images.zip").read_bytes() == http_server.files["images.zip"]


def test_no_verify_mismatch_is_used_once_not_cached(sample, http_server, tmp_path):
    sums = _serve_ecssd(sample, http_server)
    wrong = dict(sums, **{"images.zip": "0" * 64})
    _download(tmp_path, http_server, checksums=_sums_file(tmp_path, wrong), verify_checksums=False)
    assert not (tmp_path / "cache" / "images.zip").exists()
    assert (tmp_path / "cache" / "ground_truth_mask.zip").exists()


def test_force_refetches_despite_the_cache(sample, http_server, tmp_path):
    _serve_ecssd(sample, http_server)
    _download(tmp_path, http_server)
    before = len(http_server.requests)
    _download(tmp_path, http_server, force=True)
    assert [n for n, _ in http_server.requests[before:]] == ["images.zip", "ground_truth_mask.zip"]
