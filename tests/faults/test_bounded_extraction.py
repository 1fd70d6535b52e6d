"""Extraction is bounded: bombs, oversized members, deep nesting and links over folders.

Every case runs `hqseg download` in a child process under a timeout
(:mod:`fault_helpers`). The bombs are small (32 MiB of zeros deflate to ~35 KB), so
the tests stay cheap; the limits are the defaults unless a case lowers one.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from archive_kit import FOLDER, good_members, write, zip_bytes  # noqa: E402
from fault_helpers import assert_one_line_error, run_cli, tree  # noqa: E402

ZEROS = bytes(32 << 20)  # over the 16 MiB floor of the ratio check; deflates ~950 times


def _download(tmp_path: Path, archive_dir: Path, *extra) -> tuple[int, str]:
    return run_cli(["download", "msra10k", "--from", archive_dir, "--raw-dir", "raw", "--quiet",
                    *extra], tmp_path, timeout=120)  # fmt: skip


def _rejects(tmp_path: Path) -> list[tuple[str, str]]:
    manifest = json.loads((tmp_path / "raw" / "msra10k" / ".hqseg" / "download.json").read_text())
    return [(r["path"].split(":", 1)[1], r["reason"]) for r in manifest["rejects"]]


def _refused_whole(tmp_path: Path, rc: int, output: str, *words: str) -> None:
    assert_one_line_error(rc, output, *words)
    assert tree(tmp_path / "raw") == set(), "no half-extracted folder is left"


def test_a_zip_bomb_archive_is_one_clear_error(tmp_path):
    write(tmp_path / "a", zip_bytes({**good_members(), f"{FOLDER}/zeros.bin": ZEROS}))
    rc, output = _download(tmp_path, tmp_path / "a")
    _refused_whole(tmp_path, rc, output, "decompression bomb", "--max-ratio")


def test_a_tar_bomb_is_refused_by_the_archive_ratio(tmp_path):
    """A tar has no per-member compressed size: the archive's ratio catches it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        for name, data in {**good_members(), f"{FOLDER}/zeros.bin": ZEROS}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    write(tmp_path / "a", buf.getvalue())
    rc, output = _download(tmp_path, tmp_path / "a")
    _refused_whole(tmp_path, rc, output, "decompression bomb")


def test_one_bomb_member_among_real_data_is_a_listed_reject(tmp_path):
    noise = os.urandom(1 << 20)  # incompressible: keeps the archive's own ratio low
    members = {**good_members(), f"{FOLDER}/noise.bin": noise, f"{FOLDER}/zeros.bin": ZEROS}
    write(tmp_path / "a", zip_bytes(members))
    rc, output = _download(tmp_path, tmp_path / "a")
    assert rc == 0 and "Traceback" not in output, output
    assert _rejects(tmp_path) == [(f"{FOLDER}/zeros.bin", "compression-bomb")]
    assert not (tmp_path / "raw" / "msra10k" / FOLDER / "zeros.bin").exists()
    assert (tmp_path / "raw" / "msra10k" / FOLDER / "noise.bin").stat().st_size == 1 << 20


def test_the_ratio_limit_can_be_raised(tmp_path):
    write(tmp_path / "a", zip_bytes({**good_members(), f"{FOLDER}/zeros.bin": ZEROS}))
    rc, output = _download(tmp_path, tmp_path / "a", "--max-ratio", "2000")
    assert rc == 0, output
    assert (tmp_path / "raw" / "msra10k" / FOLDER / "zeros.bin").stat().st_size == len(ZEROS)


def test_member_and_archive_byte_limits(tmp_path):
    members = {**good_members(), f"{FOLDER}/big.bin": os.urandom(300 << 10)}
    write(tmp_path / "a", zip_bytes(members))
    rc, output = _download(tmp_path, tmp_path / "a", "--max-member-bytes", "200K")
    assert rc == 0, output
    assert _rejects(tmp_path) == [(f"{FOLDER}/big.bin", "too-large")]
    rc, output = run_cli(["download", "msra10k", "--from", tmp_path / "a", "--raw-dir", "raw2",
                          "--quiet", "--max-archive-bytes", "200K"], tmp_path)  # fmt: skip
    assert_one_line_error(rc, output, "--max-archive-bytes")
    assert not (tmp_path / "raw2" / "msra10k").exists()


def test_a_bad_size_flag_is_a_usage_error(tmp_path):
    rc, output = _download(tmp_path, tmp_path, "--max-member-bytes", "lots")
    assert rc == 2 and "Traceback" not in output and "expected a size" in output, output


def test_a_zip_nested_three_deep_is_one_clear_error(tmp_path):
    """Same-named levels (a.zip in a.zip in a.zip) used to delete the file being read."""
    data = zip_bytes(good_members())
    for _ in range(3):
        data = zip_bytes({"MSRA10K_Imgs_GT.zip": data})
    write(tmp_path / "a", data)
    rc, output = _download(tmp_path, tmp_path / "a")
    _refused_whole(tmp_path, rc, output, "no msra10k layout found", "nested-archive")


def test_a_zip_in_a_zip_is_still_unwrapped(tmp_path):
    """One level of wrapping (``X.zip.zip``) is normal and extracts as before."""
    write(tmp_path / "a", zip_bytes({"MSRA10K_Imgs_GT.zip": zip_bytes(good_members())}))
    rc, output = _download(tmp_path, tmp_path / "a")
    assert rc == 0, output
    assert _rejects(tmp_path) == []
    assert (tmp_path / "raw" / "msra10k" / FOLDER / "0001.png").is_file()


def test_a_symlink_over_a_folder_is_a_listed_reject(tmp_path):
    members = {**good_members(), f"{FOLDER}/d/a.txt": b"a"}
    write(tmp_path / "a", zip_bytes(members, links={f"{FOLDER}/d": "0000.jpg"}))
    rc, output = _download(tmp_path, tmp_path / "a")
    assert rc == 0 and "Traceback" not in output, output
    assert _rejects(tmp_path) == [(f"{FOLDER}/d", "path-conflict")]
    assert (tmp_path / "raw" / "msra10k" / FOLDER / "d" / "a.txt").read_bytes() == b"a"
