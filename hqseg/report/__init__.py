"""Reports from evaluation results: tables, paired statistics, paper comparison, gallery."""

from hqseg.report.build import write_report
from hqseg.report.stats import bootstrap_ci, pair_tables, paired_summary, win_loss_tie

__all__ = ["bootstrap_ci", "pair_tables", "paired_summary", "win_loss_tie", "write_report"]
