"""Per-member failures: one bad member is a listed reject with its true reason, the rest
is extracted, no exception escapes; whole-archive failures are one clear error.

Every archive here is generated; each test checks conservation: every member of the
archive is either a written file or a reject (junk and folders aside).
"""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile

import pytest

from hqseg.data.extract import safe_extract
from hqseg.errors import DatasetError

GOOD = [("imgs/a.txt", b"alpha" * 200), ("imgs/b.txt", b"beta" * 200)]


def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one test
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def _tar(path, infos):
    """infos: (TarInfo fields dict, data or None)."""
    with tarfile.open(path, "w", encoding="utf-8", errors="surrogateescape") as tf:
        for fields, data in infos:
            info = tarfile.TarInfo(fields.pop("name"))
            for k, v in fields.items():
                setattr(info, k, v)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _written(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _corrupt(path, marker: bytes, offset: int, flip=b"\xff\xff\xff\xff"):
    raw = bytearray(path.read_bytes())
    at = raw.index(marker) + offset
    raw[at : at + len(flip)] = flip
    path.write_bytes(bytes(raw))


def test_corrupt_deflate_stream_is_one_reject(tmp_path):
    arc = _zip(tmp_path / "a.zip", [*GOOD, ("imgs/bad.txt", b"gamma" * 400)])
    # corrupt the compressed data of the last member (just after its local header + name)
    _corrupt(arc, b"imgs/bad.txt", len(b"imgs/bad.txt") + 2)
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert [(r.path, r.reason) for r in rejects] == [("a.zip:imgs/bad.txt", "corrupt-member")]
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


def test_crc_mismatch_is_one_reject(tmp_path):
    arc = _zip(
        tmp_path / "a.zip", [*GOOD, ("imgs/crc.txt", b"0123456789" * 10)], zipfile.ZIP_STORED
    )
    _corrupt(arc, b"imgs/crc.txt0123", len(b"imgs/crc.txt") + 3, b"X")
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert [r.reason for r in rejects] == ["corrupt-member"]
    assert "CRC" in rejects[0].detail
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


def test_name_too_long_is_one_reject_not_a_refused_archive(tmp_path):
    arc = _zip(tmp_path / "a.zip", [*GOOD, ("imgs/" + "n" * 300 + ".txt", b"x")])
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert [r.reason for r in rejects] == ["name-too-long"]
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


def test_name_not_utf8_is_one_reject(tmp_path):
    bad = b"imgs/caf\xe9.txt".decode("utf-8", "surrogateescape")
    arc = _tar(tmp_path / "a.tar", [({"name": n}, d) for n, d in GOOD] + [({"name": bad}, b"x")])
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert [r.reason for r in rejects] == ["bad-name"] and "UTF-8" in rejects[0].detail
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


def test_fifo_and_device_members_are_rejects(tmp_path):
    arc = _tar(
        tmp_path / "a.tar",
        [({"name": n}, d) for n, d in GOOD]
        + [
            ({"name": "imgs/pipe", "type": tarfile.FIFOTYPE}, None),
            ({"name": "imgs/tty", "type": tarfile.CHRTYPE, "devmajor": 4, "devminor": 1}, None),
        ],
    )
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert sorted((r.path, r.reason) for r in rejects) == [
        ("a.tar:imgs/pipe", "special-file"),
        ("a.tar:imgs/tty", "special-file"),
    ]
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_duplicated_name_keeps_the_last_copy_and_lists_the_others(tmp_path, kind):
    members = [*GOOD, ("imgs/a.txt", b"second copy")]
    if kind == "tar":
        arc = _tar(tmp_path / "a.tar", [({"name": n}, d) for n, d in members])
    else:
        arc = _zip(tmp_path / "a.zip", members)
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert [r.reason for r in rejects] == ["duplicate-name"]
    assert (tmp_path / "out" / "imgs" / "a.txt").read_bytes() == b"second copy"
    assert _written(tmp_path / "out") == ["imgs/a.txt", "imgs/b.txt"]


def test_file_where_a_folder_is_needed_is_a_path_conflict(tmp_path):
    arc = _zip(tmp_path / "a.zip", [("imgs", b"a file"), *GOOD])
    rejects = safe_extract(arc, tmp_path / "out", progress=False)
    assert sorted(r.reason for r in rejects) == ["path-conflict", "path-conflict"]
    assert _written(tmp_path / "out") == ["imgs"]


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        (b"", "empty file"),
        (b"just some text, not an archive", "not a zip or tar"),
    ],
)
def test_whole_archive_failures_are_one_clear_error(tmp_path, content, cause):
    (tmp_path / "a.zip").write_bytes(content)
    with pytest.raises(DatasetError, match=cause) as err:
        safe_extract(tmp_path / "a.zip", tmp_path / "out", progress=False)
    assert "a.zip" in str(err.value)


def test_truncated_central_directory_is_one_clear_error(tmp_path):
    arc = _zip(tmp_path / "a.zip", GOOD)
    raw = arc.read_bytes()
    arc.write_bytes(raw[: raw.rindex(b"PK\x01\x02") + 10])  # cut inside the central directory
    with pytest.raises(DatasetError, match="a.zip"):
        safe_extract(arc, tmp_path / "out", progress=False)


def test_a_failed_archive_leaves_no_half_extracted_source(sample, tmp_path):
    """Through `download_source`: the good first archive is extracted, the second is
    HTML; nothing is left in the raw folder, not even a temp folder."""
    from hqseg.data.download import download_source

    folder, _ = sample
    user = tmp_path / "user" / "ecssd"
    user.mkdir(parents=True)
    (user / "images.zip").write_bytes((folder / "ecssd" / "images.zip").read_bytes())
    (user / "ground_truth_mask.zip").write_bytes(b"<html>not found</html>")
    with pytest.raises(DatasetError, match="HTML"):
        download_source("ecssd", from_path=user, raw_dir=tmp_path / "raw", progress=False,
                        log=lambda _m: None)  # fmt: skip
    assert not [p for p in (tmp_path / "raw").iterdir() if not p.name.endswith(".lock")]
