"""`--out` never deletes what the command did not create; disk faults and nesting are one line."""

from __future__ import annotations

import errno
import json
import os
import sys
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


def test_own_output_is_replaced(results, tmp_path):
    """(Temp folders that a killed run left: tests/faults/test_ownership.py.)"""
    out = tmp_path / "rep"
    assert _run(["report", "--results", results / "eval", "--out", out, "--paper", ""])[0] == 0
    (out / "extra.txt").write_text("stale")
    code, text = _run(["report", "--results", results / "eval", "--out", out, "--paper", ""])
    assert code == 0, text
    assert not (out / "extra.txt").exists() and (out / "report.md").is_file()


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
    def refuse(path, *args, **kwargs):
        raise OSError(err, "simulated", str(path))

    monkeypatch.setattr(os, "mkdir", refuse)
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


# ---------------------------------------------------------------- train and sample
TRAIN = ["--model-type", "test_vit", "--max-steps", "1", "--batch-size", "1", "--loss-points",
         "64", "--no-validate", "--device", "cpu", "--no-progress"]  # fmt: skip


def _train_args(out, data="no-such-build"):
    return ["train", "--data", data, "--out", out, *TRAIN]


def test_train_into_a_users_folder_is_refused(tmp_path):
    (tmp_path / "mydocs").mkdir()
    (tmp_path / "mydocs" / "thesis.txt").write_text("years of work")
    code, out = _run(_train_args(tmp_path / "mydocs"))
    _assert_refused(code, out, tmp_path / "mydocs" / "thesis.txt")
    assert "did not write" in out and "thesis.txt" in out
    assert sorted(p.name for p in (tmp_path / "mydocs").iterdir()) == ["thesis.txt"]


def test_train_into_another_commands_output_is_refused(results):
    code, out = _run(_train_args(results / "eval" / "hq"))
    _assert_refused(code, out, results / "eval" / "hq" / "per_image.csv")
    assert "`hqseg eval hq`" in out


@pytest.mark.parametrize("out", [".", "/"])
def test_train_out_dot_and_root_are_refused(tmp_path, monkeypatch, out):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    code, text = _run(_train_args(out))
    _assert_refused(code, text, tmp_path / "notes.txt")
    assert "name a new folder" in text


def test_train_names_without_the_marker_are_refused(tmp_path):
    """Only names train writes, but no marker: not provably train's, so refused
    (it used to pass as "an earlier version's run")."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"earlier")
    (run / "summary.json").write_text("{}")
    code, out = _run(_train_args(run))
    _assert_refused(code, out, run / "checkpoints" / "last.pt")
    assert "did not write" in out
    assert (run / "checkpoints" / "last.pt").read_bytes() == b"earlier"


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    from hqseg.data.build import build

    root = tmp_path_factory.mktemp("tiny")
    ecssd_raw(root / "raw", 2)
    build("official", normalized_dir=root / "n", raw_dir=root / "raw", out=root / "b",
          allow_missing=True, workers=1, progress=False)  # fmt: skip
    return root / "b"


def test_second_train_into_a_locked_run_is_one_line(tiny_build, tmp_path):
    with folder_lock(tmp_path / "run"):
        code, out = _run(_train_args(tmp_path / "run", tiny_build))
    _assert_refused(code, out)
    assert "another hqseg run" in out
    assert not (tmp_path / "run").exists()


def test_sample_into_a_users_folder_is_refused(tmp_path):
    (tmp_path / "mydocs").mkdir()
    (tmp_path / "mydocs" / "thesis.txt").write_text("years of work")
    code, out = _run(["sample", "--out", tmp_path / "mydocs"])
    _assert_refused(code, out, tmp_path / "mydocs" / "thesis.txt")
    assert sorted(p.name for p in (tmp_path / "mydocs").iterdir()) == ["thesis.txt"]


@pytest.mark.parametrize("out", [".", "/"])
def test_sample_out_dot_and_root_are_refused(tmp_path, monkeypatch, out):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    code, text = _run(["sample", "--out", out])
    _assert_refused(code, text, tmp_path / "notes.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_sample_replaces_its_own_output(tmp_path):
    out = tmp_path / "s"
    assert _run(["sample", "--out", out])[0] == 0
    (out / "manifest.json").write_text("stale")
    code, text = _run(["sample", "--out", out])
    assert code == 0, text
    assert json.loads((out / "manifest.json").read_text())["seed"] == 0
