"""`hqseg report` refuses outputs it would destroy: one-line usage error, exit 2."""

from __future__ import annotations

from click.testing import CliRunner

from hqseg.cli import main


def test_report_out_that_is_a_file_is_refused_and_kept(base_and_new, tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("keep me\n")
    res = CliRunner().invoke(
        main, ["report", "--results", str(base_and_new[1]), "--paper", "", "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert "is a file" in res.output and "Traceback" not in res.output
    assert out.read_text() == "keep me\n"
