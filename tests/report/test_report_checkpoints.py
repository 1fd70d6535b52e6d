"""The report compares the checkpoints of one multi-checkpoint `eval hq` run."""

from __future__ import annotations

import shutil

from conftest import write_results

from hqseg.report.build import write_report


def test_report_has_a_column_pair_per_checkpoint(tmp_path):
    rows = {
        "sam": [("a", "coift", "sam", 0.5, 0.4)],
        "run1": [("a", "coift", "hq_sam", 0.6, 0.5)],
        "run2": [("a", "coift", "hq_sam", 0.7, 0.55)],
    }
    for unit, unit_rows in rows.items():
        write_results(tmp_path / unit, unit_rows)
        shutil.move(tmp_path / unit / "hq", tmp_path / "eval" / "hq" / unit)
    report = write_report(tmp_path / "eval", tmp_path / "report").read_text()
    assert "## Checkpoints compared" in report
    header = next(line for line in report.splitlines() if "run1 mIoU" in line)
    assert header.index("SAM mIoU") < header.index("run1 mIoU") < header.index("run2 mIoU")
    row = next(line for line in report.splitlines() if line.startswith("| COIFT"))
    assert "50.00" in row and "60.00" in row and "70.00" in row
