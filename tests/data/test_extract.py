"""Safe extraction: unsafe members are refused and reported, the rest is extracted."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from hqseg.data.extract import safe_extract, safe_relpath
from hqseg.errors import DatasetError


def _zip(path, members):
    """members: (name, data) or (name, data, "symlink")."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, *kind in members:
            info = zipfile.ZipInfo(name)
            if kind == ["symlink"]:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return path


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data, *kind in members:
            info = tarfile.TarInfo(name)
            if kind == ["symlink"]:
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_dotdot_member_is_refused_and_nothing_is_written_outside(tmp_path):
    archive = _zip(
        tmp_path / "a.zip",
        [("ok/a.txt", b"a"), ("../evil.txt", b"x"), ("ok/../../evil2.txt", b"x")],
    )
    dest = tmp_path / "deep" / "dest"
    rejects = safe_extract(archive, dest, progress=False)
    assert _files(dest) == ["ok/a.txt"]
    assert sorted(r.path for r in rejects) == ["a.zip:../evil.txt", "a.zip:ok/../../evil2.txt"]
    assert {r.reason for r in rejects} == {"unsafe-path"}
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "evil2.txt").exists()


def test_absolute_and_drive_paths_are_refused(tmp_path):
    archive = _zip(tmp_path / "a.zip", [("/abs.txt", b"x"), ("C:/win.txt", b"x"), ("b", b"b")])
    rejects = safe_extract(archive, tmp_path / "d", progress=False)
    assert _files(tmp_path / "d") == ["b"]
    assert len(rejects) == 2 and all(r.reason == "unsafe-path" for r in rejects)


def test_zip_symlinks_outside_refused_inside_copied(tmp_path):
    archive = _zip(
        tmp_path / "a.zip",
        [
            ("d/real.txt", b"data"),
            ("d/out", b"../../etc/passwd", "symlink"),
            ("d/abs", b"/etc/passwd", "symlink"),
            ("d/in", b"real.txt", "symlink"),
        ],
    )
    dest = tmp_path / "dest"
    rejects = safe_extract(archive, dest, progress=False)
    assert {(r.path, r.reason) for r in rejects} == {
        ("a.zip:d/out", "link-outside"),
        ("a.zip:d/abs", "link-outside"),
    }
    assert (dest / "d" / "in").read_bytes() == b"data"
    assert not (dest / "d" / "in").is_symlink()
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_tar_links_and_traversal(tmp_path):
    archive = _tar(
        tmp_path / "a.tar.gz",
        [("x/ok.png", b"png"), ("x/link", b"/etc/passwd", "symlink"), ("../up.txt", b"u")],
    )
    rejects = safe_extract(archive, tmp_path / "dest", progress=False)
    assert _files(tmp_path / "dest") == ["x/ok.png"]
    assert sorted(r.reason for r in rejects) == ["link-outside", "unsafe-path"]


def test_member_through_an_extracted_symlink_is_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = _tar(tmp_path / "a.tar", [("d", b"../outside", "symlink"), ("d/pwn.txt", b"x")])
    rejects = safe_extract(archive, tmp_path / "dest", progress=False)
    assert not list(outside.iterdir())
    assert {r.reason for r in rejects} <= {"link-outside", "unsafe-path"} and rejects


def test_junk_is_skipped_silently(tmp_path):
    archive = _zip(
        tmp_path / "a.zip",
        [
            ("__MACOSX/x/._a.jpg", b"j"),
            ("x/.DS_Store", b"j"),
            ("x/._b.jpg", b"j"),
            ("x/a.jpg", b"a"),
        ],
    )
    assert safe_extract(archive, tmp_path / "d", progress=False) == []
    assert _files(tmp_path / "d") == ["x/a.jpg"]


def test_members_filter_extracts_only_the_prefixes(tmp_path):
    archive = _zip(tmp_path / "a.zip", [("ecssd/1.jpg", b"1"), ("MSRA_10K/2.jpg", b"2")])
    safe_extract(archive, tmp_path / "d", members=("ecssd/",), progress=False)
    assert _files(tmp_path / "d") == ["ecssd/1.jpg"]


def test_zip_inside_zip_is_unwrapped(tmp_path):
    inner = _zip(tmp_path / "inner.zip", [("pixelwiseGT-new-PNG/a.png", b"a")])
    outer = _zip(tmp_path / "x.zip.zip", [("inner.zip", inner.read_bytes())])
    safe_extract(outer, tmp_path / "d", progress=False)
    assert _files(tmp_path / "d") == ["pixelwiseGT-new-PNG/a.png"]


@pytest.mark.parametrize("content", [b"", b"not an archive at all", None])
def test_corrupt_or_truncated_archive_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.zip"
    if content is None:  # a real zip cut in half
        good = _zip(tmp_path / "good.zip", [(f"f{i}", bytes(range(256)) * 50) for i in range(5)])
        content = good.read_bytes()[: good.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="bad.zip"):
        safe_extract(path, tmp_path / "d", progress=False)


def test_safe_relpath():
    assert safe_relpath("a/./b//c.png") == "a/b/c.png"
    assert safe_relpath("a\\..\\..\\x") is None
    assert safe_relpath("") is None
