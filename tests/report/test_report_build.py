"""`hqseg report`: sections, paired numbers vs a base folder or git revision, gallery, errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.report import write_report
from hqseg.report.paper import load_paper
from hqseg.report.stats import bootstrap_ci

PAPER = Path(__file__).resolve().parents[2] / "eval" / "paper_reference.json"


def _run(args):
    return CliRunner().invoke(main, ["report", *args])


def test_report_vs_base_folder_has_paired_numbers(base_and_new, tmp_path):
    base, new = base_and_new
    res = _run(
        [
            "--results",
            str(new),
            "--base",
            str(base),
            "--out",
            str(tmp_path / "r"),
            "--paper",
            str(PAPER),
        ]
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r" / "report.md").read_text()
    # HQ-SAM diffs new - base, in points: +10, +10, -20, 0 -> mean 0, 2 wins, 1 loss, 1 tie.
    lo, hi = bootstrap_ci(np.array([10.0, 10.0, -20.0, 0.0]))
    assert f"| COIFT | IoU | 4 | +0.00 | [{lo:+.2f}, {hi:+.2f}] | 2 / 1 / 1 |" in text
    # HQ-SAM vs SAM within the new run: +20, +20, +10, +20 -> +17.50, 4 wins.
    assert "| COIFT | IoU | 4 | +17.50 |" in text and "| 4 / 0 / 0 |" in text
    assert "| HQ-SAM (base) | 30.00 |" in text and "| HQ-SAM | 31.50 |" in text
    assert "paper vit_l" in text and "NOT comparable" in text
    assert "No gallery: no --data" in text
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<table>" in html and "<h2>HQ benchmarks</h2>" in html
    assert (tmp_path / "r" / "plots" / "iou_scatter.png").stat().st_size > 1000
    assert (
        (tmp_path / "r" / "paired_iou.csv")
        .read_text()
        .startswith("benchmark,id,iou_pct_sam,biou_pct_sam,iou_pct_hq_sam,biou_pct_hq_sam")
    )


def test_report_vs_git_revision(base_and_new, tmp_path):
    base, new = base_and_new
    repo = tmp_path / "repo"
    results = repo / "eval"
    shutil.copytree(base, results)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "eval"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    shutil.rmtree(results)
    shutil.copytree(new, results)
    path = write_report(results, tmp_path / "r", base="HEAD")
    text = path.read_text()
    assert "base: `git:HEAD`" in text
    assert "| COIFT | IoU | 4 | +0.00 |" in text and "2 / 1 / 1 |" in text
    res = _run(["--results", str(results), "--base", "no-such-rev", "--out", str(tmp_path / "r2")])
    assert res.exit_code == 2 and "no-such-rev" in res.output


def test_report_gallery_from_a_real_eval_run(tmp_path):
    from evalfakes import FakePredictor, make_record, write_build_folder

    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks

    data = write_build_folder(
        tmp_path / "build",
        {
            "thin": [
                make_record("thin/a", "thin", 256, 256, (5, 5, 30, 20)),
                make_record("thin/b", "thin", 256, 256, (2, 8, 12, 30)),
            ],
        },
    )
    evaluate_hq_benchmarks(FakePredictor(), data, tmp_path / "eval" / "hq", progress=False)
    res = _run(
        [
            "--results",
            str(tmp_path / "eval"),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "r"),
            "--paper",
            "",
        ]
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r" / "report.md").read_text()
    # The fake SAM drops a column, so HQ-SAM wins on both images and loses on none.
    assert text.count("](gallery/win_") == 2 and "](gallery/loss_" not in text
    assert "Compared with the paper" not in text
    assert len(list((tmp_path / "r" / "gallery").glob("win_*.png"))) == 2

    # Against a base run whose HQ-SAM was worse on thin/b: a base gallery with one win.
    shutil.copytree(tmp_path / "eval", tmp_path / "base")
    per_image = tmp_path / "base" / "hq" / "per_image.csv"
    table = pd.read_csv(per_image)
    table.loc[(table.id == "thin/b") & (table.model == "hq_sam"), "iou_pct"] = 50.0
    table.to_csv(per_image, index=False)
    (tmp_path / "base" / "hq" / ".hqseg-output.json").unlink()  # a hand-edited results folder
    path = write_report(
        tmp_path / "eval", tmp_path / "r2", base=str(tmp_path / "base"), data_dir=data
    )
    text = path.read_text()
    assert "## Gallery: biggest HQ-SAM (this run) wins and losses over HQ-SAM (base)" in text
    assert "](gallery/base_win_thin_thin_b.png)" in text
    assert (tmp_path / "r2" / "gallery" / "base_win_thin_thin_b.png").is_file()


def test_report_without_results_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = _run(["--results", str(tmp_path / "empty"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert "no evaluation results" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("bad", ["{", '{"models": 3}'])
def test_bad_paper_reference(base_and_new, tmp_path, bad):
    (tmp_path / "paper.json").write_text(bad)
    res = _run(
        [
            "--results",
            str(base_and_new[1]),
            "--paper",
            str(tmp_path / "paper.json"),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert res.exit_code == 2 and "paper.json" in res.output


def test_paper_reference_is_consistent():
    paper = load_paper(PAPER)["models"]
    per_set = paper["vit_l"]["hq_sam"]["per_benchmark"]
    assert set(per_set) == {"dis_vd", "coift", "hrsod", "thin"}
    # The paper's HQ-4 is the mean of the four per-benchmark numbers.
    for metric in ("mIoU", "mBIoU"):
        mean = sum(v[metric] for v in per_set.values()) / 4
        assert round(mean, 1) == pytest.approx(paper["vit_l"]["hq_sam"]["hq4"][metric], abs=0.051)
    assert paper["vit_b"]["sam"]["coco"] == {"AP_B": 28.2, "AP": 44.4}


def test_report_links_the_audit_review_page(base_and_new, tmp_path):
    _, new = base_and_new
    out = tmp_path / "r"
    assert _run(["--results", str(new), "--out", str(out), "--paper", ""]).exit_code == 0
    assert "Label-quality review" not in (out / "report.md").read_text()  # no audit: no link
    (new / "audit").mkdir()
    (new / "audit" / "index.html").write_text("<!DOCTYPE html><title>review</title>")
    res = _run(["--results", str(new), "--out", str(out), "--paper", ""])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    href = html.split("Label-quality review", 1)[1].split('href="', 1)[1].split('"', 1)[0]
    assert (out / href).resolve() == (new / "audit" / "index.html").resolve()
