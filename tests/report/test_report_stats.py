"""Paired statistics: bootstrap CI determinism and sanity, win/loss/tie, pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hqseg.report.stats import bootstrap_ci, pair_tables, paired_summary, win_loss_tie


def test_bootstrap_is_seeded_and_brackets_the_mean():
    d = np.random.default_rng(1).normal(2.0, 1.0, 200)
    lo, hi = bootstrap_ci(d, seed=3)
    assert (lo, hi) == bootstrap_ci(d, seed=3)
    assert (lo, hi) != bootstrap_ci(d, seed=4)
    assert lo < d.mean() < hi
    # Normal-theory half-width 1.96 * sd / sqrt(n) ~ 0.139: the bootstrap agrees roughly.
    assert (hi - lo) / 2 == pytest.approx(1.96 * d.std() / np.sqrt(d.size), rel=0.15)
    assert bootstrap_ci(np.full(5, 0.25)) == (0.25, 0.25)
    assert all(np.isnan(bootstrap_ci(np.array([]))))


def test_win_loss_tie():
    assert win_loss_tie(np.array([0.1, -0.2, 0.0, 1e-12, 0.3])) == (2, 1, 2)


def test_pairing_is_on_benchmark_and_id():
    a = pd.DataFrame(
        {
            "id": ["x", "y", "x"],
            "benchmark": ["b1", "b1", "b2"],
            "iou_pct": [50.0, 60.0, 10.0],
            "biou_pct": [20.0, 30.0, 0.0],
        }
    )
    b = pd.DataFrame(
        {
            "id": ["x", "x", "z"],
            "benchmark": ["b2", "b1", "b1"],
            "iou_pct": [40.0, 75.0, 90.0],
            "biou_pct": [10.0, 20.0, 90.0],
        }
    )
    p = pair_tables(a, b)
    assert list(zip(p.benchmark, p.id, strict=True)) == [("b1", "x"), ("b2", "x")]
    assert p.iou_pct_diff.tolist() == pytest.approx([25.0, 30.0])
    s = paired_summary(p)
    row = s[(s.benchmark == "all") & (s.metric == "iou_pct")].iloc[0]
    assert row.n == 2 and row.mean_diff == pytest.approx(27.5) and row.wins == 2


def test_a_fraction_table_from_before_the_percent_columns_is_read_in_percent(tmp_path):
    from hqseg.report.results import load_results

    (tmp_path / "hq").mkdir()
    pd.DataFrame(
        {"id": ["a"], "benchmark": ["coift"], "model": ["sam"], "iou": [0.5], "biou": [0.25]}
    ).to_csv(tmp_path / "hq" / "per_image.csv", index=False)
    table = load_results(tmp_path).per_image
    assert table.iou_pct.tolist() == [50.0] and table.biou_pct.tolist() == [25.0]
    assert "iou" not in table.columns
