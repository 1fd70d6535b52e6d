"""``download --force`` discards every partial and incoming file (issue 17, item 9).

A run killed between the download and the caching leaves the complete file in
``.incoming/``; ``--force`` used to print "Skipping already downloaded file" and cache
it although the server now has other bytes. Real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.sample import write_sample

_spec = importlib.util.spec_from_file_location(
    "data_fixtures", Path(__file__).parents[1] / "data" / "conftest.py"
)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

NAMES = ("images.zip", "ground_truth_mask.zip")


@pytest.fixture
def server(tmp_path):
    """ECSSD's two sample archives on a loopback HTTP server."""
    write_sample(tmp_path / "sample", seed=0)
    srv = _fixtures.FileServer()
    for name in NAMES:
        srv.files[name] = (tmp_path / "sample" / "ecssd" / name).read_bytes()
    yield srv
    srv.close()


def test_force_refetches_what_a_killed_run_left_in_incoming(tmp_path, server):
    incoming = tmp_path / "cache" / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "images.zip").write_bytes(b"an older release of the archive")  # complete
    (incoming / "ground_truth_mask.zip.abc.part").write_bytes(b"half of an older one")
    args = ["download", "ecssd", "--mirror", server.url, "--raw-dir", tmp_path / "raw",
            "--cache-dir", tmp_path / "cache", "--retries", "0", "--quiet", "--force"]  # fmt: skip
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    assert "Skipping already downloaded" not in res.output
    assert sorted(server.requests) == sorted((n, None) for n in NAMES)  # from byte zero
    for name in NAMES:
        assert (tmp_path / "cache" / name).read_bytes() == server.files[name]
    assert not list(incoming.rglob("*.*"))
    assert (tmp_path / "raw" / "ecssd" / "images" / "0001.jpg").is_file()
