"""`--out` never deletes what the command did not create; disk faults and nesting are one line."""

from __future__ import annotations

import errno
import json
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import ecssd_raw  # noqa: E402

from hqseg.cli import main  # noqa: E402
from hqseg.utils.atomic import folder_lock  # noqa: E402


def _run(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def _build_args(tmp_path, out):
    return ["build", "--raw-dir", tmp_path / "raw", "--normalized", tmp_path / "n",
            "--out", out, "--allow-missing", "--workers", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """An eval/ folder as `eval hq` writes it (one unit with its marker)."""
    from hqseg.utils.outdir import output_dir

    root = tmp_path_factory.mktemp("res")
    with output_dir(root / "eval" / "hq", "eval hq", manifest=True) as tmp:
        (tmp / "per_image.csv").write_text(
            "id,benchmark,model,iou,biou\nthin/a,thin,sam,0.5,0.4\nthin/a,thin,hq_sam,0.7,0.6\n"
        )
        (tmp / "metrics.json").write_text(json.dumps({"thin": {"sam": {"mIoU": 50.0}}}))
    return root


def _assert_refused(code, output, *keep: Path):
    assert code == 2, output
    assert output.startswith("error: ") and output.count("\n") == 1, output
    assert "Traceback" not in output
    for path in keep:
        assert path.exists(), path


def test_build_into_a_users_folder_is_refused(tmp_path):
    ecssd_raw(tmp_path / "raw", 2)
    (tmp_path / "mydocs").mkdir()
    (tmp_path / "mydocs" / "thesis.txt").write_text("years of work")
    code, out = _run(_build_args(tmp_path, tmp_path / "mydocs"))
    _assert_refused(code, out, tmp_path / "mydocs" / "thesis.txt")
    assert "did not write" in out and "thesis.txt" in out


def test_build_into_the_data_folder_is_refused(tmp_path):
    ecssd_raw(tmp_path / "data" / "raw", 2)
    args = _build_args(tmp_path / "data", tmp_path / "data")
    code, out = _run(args)
    _assert_refused(code, out, tmp_path / "data" / "raw" / "ecssd" / "images")


@pytest.mark.parametrize("out", [".", "/"])
def test_out_dot_and_root_are_refused(tmp_path, monkeypatch, out):
    ecssd_raw(tmp_path / "raw", 2)
    monkeypatch.chdir(tmp_path)
    code, text = _run(_build_args(tmp_path, out))
    _assert_refused(code, text, tmp_path / "raw" / "ecssd")
    assert "name a new folder" in text


def test_report_into_the_results_folder_is_refused(results):
    code, out = _run(["report", "--results", results / "eval", "--out", results / "eval",
                      "--paper", ""])  # fmt: skip
    _assert_refused(code, out, results / "eval" / "hq" / "metrics.json")


def test_another_commands_output_is_refused(results, tmp_path):
    code, out = _run(["report", "--results", results / "eval", "--out", results / "eval" / "hq",
                      "--paper", ""])  # fmt: skip
    _assert_refused(code, out, results / "eval" / "hq" / "per_image.csv")
    assert "`hqseg eval hq`" in out


def test_own_output_is_replaced_and_stale_temp_folders_removed(results, tmp_path):
    out = tmp_path / "rep"
    assert _run(["report", "--results", results / "eval", "--out", out, "--paper", ""])[0] == 0
    (tmp_path / ".rep.tmp-killed").mkdir()  # what a killed run leaves
    (out / "extra.txt").write_text("stale")
    code, text = _run(["report", "--results", results / "eval", "--out", out, "--paper", ""])
    assert code == 0, text
    assert not (out / "extra.txt").exists() and (out / "report.md").is_file()
    assert not (tmp_path / ".rep.tmp-killed").exists()


def test_second_run_into_a_locked_out_is_one_line(results, tmp_path):
    with folder_lock(tmp_path / "rep"):
        code, out = _run(["report", "--results", results / "eval", "--out", tmp_path / "rep",
                          "--paper", ""])  # fmt: skip
    _assert_refused(code, out)
    assert "another hqseg run" in out


def test_mixed_eval_files_are_refused_by_report(results, tmp_path):
    import shutil

    mixed = tmp_path / "eval"
    shutil.copytree(results / "eval", mixed)
    (mixed / "hq" / "metrics.json").write_text(json.dumps({"thin": {"sam": {"mIoU": 1.0}}}))
    code, out = _run(["report", "--results", mixed, "--out", tmp_path / "r", "--paper", ""])
    _assert_refused(code, out)
    assert "metrics.json" in out and "does not belong" in out


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_disk_is_one_line(results, tmp_path, monkeypatch, err):
    def refuse(*args, **kwargs):
        raise OSError(err, "simulated", str(kwargs.get("dir", "")))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    code, out = _run(["report", "--results", results / "eval", "--out", tmp_path / "r",
                      "--paper", ""])  # fmt: skip
    _assert_refused(code, out)
    assert "cannot write" in out


def test_deeply_nested_json_is_one_line(results, tmp_path):
    import shutil

    bad = tmp_path / "eval"
    shutil.copytree(results / "eval", bad)
    (bad / "hq" / ".hqseg-output.json").unlink()
    (bad / "hq" / "metrics.json").write_text("[" * 200_000 + "]" * 200_000)
    code, out = _run(["report", "--results", bad, "--out", tmp_path / "r", "--paper", ""])
    _assert_refused(code, out)
    assert "metrics.json" in out
