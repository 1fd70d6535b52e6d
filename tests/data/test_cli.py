"""The data commands through the CLI: help, sources, sample, download --from."""

from __future__ import annotations

import re

from click.testing import CliRunner

from hqseg.cli import main


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_download_help_explains_every_option():
    result = _run("download", "--help")
    assert result.exit_code == 0
    options = re.findall(r"^\s+(--[\w-]+)", result.output, flags=re.M)
    assert {
        "--origin",
        "--from",
        "--raw-dir",
        "--cache-dir",
        "--mirror",
        "--checksums",
        "--no-verify",
        "--force",
        "--retries",
        "--progress",  # shown as "--progress / --no-progress"
    } <= set(options)
    for cmd in ("sample", "sources"):
        assert _run(cmd, "--help").exit_code == 0


def test_sources_lists_every_source_with_licence():
    result = _run("sources")
    assert result.exit_code == 0
    for name in (
        "dis5k",
        "thinobject5k",
        "fss1000",
        "ecssd",
        "msra10k",
        "duts",
        "dut_omron",
        "coift",
        "hrsod",
    ):
        assert re.search(rf"^{name}\b", result.output, flags=re.M)
    assert "CC BY-NC 4.0" in result.output and "sha256 known" in result.output


def test_sample_then_download_from_it(tmp_path):
    assert _run("sample", "--out", str(tmp_path / "s")).exit_code == 0
    raw = tmp_path / "raw"
    result = _run(
        "download", "dis_vd", "--from", str(tmp_path / "s"), "--raw-dir", str(raw), "--no-progress"
    )
    assert result.exit_code == 0, result.output
    assert "part of 'dis5k'" in result.output and "val=6" in result.output
    again = _run("download", "dis5k", "--from", str(tmp_path / "s"), "--raw-dir", str(raw))
    assert "nothing to do" in again.output
    listing = _run("sources", "--raw-dir", str(raw))
    assert "train=11" in listing.output and "not downloaded" in listing.output
    repack = _run(
        "download",
        "ecssd",
        "--origin",
        "repack",
        "--from",
        str(tmp_path / "s" / "repack"),
        "--raw-dir",
        str(raw),
        "--no-progress",
    )
    assert repack.exit_code == 0, repack.output
    assert "ecssd: repack, pairs train=9" in repack.output.replace(str(raw) + "/", "")


def test_user_errors_are_one_line_without_traceback(tmp_path):
    result = _run("download", "nosuch", "--from", str(tmp_path))
    assert result.exit_code == 2
    assert "unknown source 'nosuch'" in result.output and "Traceback" not in result.output
    result = _run("download", "ecssd", "--from", str(tmp_path), "--raw-dir", str(tmp_path / "r"))
    assert result.exit_code == 2 and "images.zip" in result.output
    result = _run("download", "dut_omron", "--origin", "repack", "--from", str(tmp_path))
    assert result.exit_code == 2 and "not in the repack" in result.output


def test_download_origin_takes_the_params_words(sample, tmp_path, monkeypatch):
    folder, _ = sample
    res = _run("download", "ecssd", "--origin", "local", "--raw-dir", str(tmp_path / "raw"))
    assert res.exit_code == 2 and "--from" in res.output
    monkeypatch.chdir(tmp_path)
    res = _run("download", "ecssd", "--origin", "sample")  # no data/sample here
    assert res.exit_code == 2 and "hqseg sample" in res.output
    res = _run("download", "ecssd", "--origin", "sample", "--from", str(folder), "--no-progress")
    assert res.exit_code == 0, res.output
    import json

    manifest = json.loads((tmp_path / "data/raw/ecssd/.hqseg/download.json").read_text())
    assert manifest["sample"] is True and manifest["origin"] == "original"


def test_python_m_hqseg_cli_works():
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "hqseg.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0 and "download" in res.stdout


def test_report_base_that_is_neither_revision_nor_folder(tmp_path):
    (tmp_path / "eval" / "coco").mkdir(parents=True)
    (tmp_path / "eval" / "coco" / "metrics.json").write_text('{"setup": {"images": 1}}')
    res = CliRunner().invoke(
        main,
        ["report", "--results", str(tmp_path / "eval"), "--out", str(tmp_path / "r"),
         "--base", "no-such-thing", "--paper", ""],
    )  # fmt: skip
    assert res.exit_code == 2 and "not a git revision or folder" in res.output, res.output
