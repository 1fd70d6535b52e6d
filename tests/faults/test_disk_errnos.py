"""A file-size limit (EFBIG) is a disk-level failure like a full disk: one line, no reject.

Extraction and the atomic writers share one list of disk errnos
(:data:`hqseg.utils.atomic.DISK_ERRNOS`); before they did, an EFBIG while extracting
was filed as a per-member reject and the download went on.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

from fault_helpers import ROOT, assert_one_line_error, file_size_limit

from hqseg.utils.atomic import DISK_ERRNOS, disk_error

LIMIT = 4 << 10  # bytes: smaller than one of the sample's ECSSD images, larger than the manifest


def test_every_disk_errno_is_one_line():
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        assert code in DISK_ERRNOS
        error = disk_error(OSError(code, os.strerror(code), "/out/x"), "/out")
        assert str(error) == f"cannot write /out/x: {os.strerror(code)}"


def test_efbig_while_extracting_is_the_one_line_disk_message(tmp_path):
    from hqseg.sample import write_sample

    write_sample(tmp_path / "archives", seed=0)
    raw = tmp_path / "raw"
    proc = subprocess.run(
        [sys.executable, "-m", "hqseg.cli", "download", "ecssd", "--no-progress",
         "--from", str(tmp_path / "archives" / "ecssd"), "--raw-dir", str(raw),
         "--cache-dir", str(tmp_path / "cache")],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=300, preexec_fn=file_size_limit(LIMIT),
    )  # fmt: skip
    assert_one_line_error(proc.returncode, proc.stdout + proc.stderr, "cannot write", "too large")
    assert not (raw / "ecssd").exists(), "no partial source folder is left"
