"""The shared progress helper: bars only on a terminal, periodic lines elsewhere."""

from __future__ import annotations

import io

from hqseg.utils.progress import LogProgress, progress_bar


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_every_n_items_or_every_s_seconds_with_rate_and_eta():
    out, clock = io.StringIO(), _Clock()
    bar = LogProgress(total=10, desc="train", unit="steps", every_n=4, every_s=30,
                      stream=out, clock=clock)  # fmt: skip
    bar._stop.set()  # no heartbeat thread in a unit test: the clock is fake
    for _ in range(3):
        clock.now += 1
        bar.update()
    assert out.getvalue() == ""
    clock.now += 1
    bar.set_postfix(loss=0.51234)
    bar.update()  # 4 items: due by count
    line = out.getvalue().strip()
    assert line.startswith("train: 4/10 steps (40%) loss=0.5123 | 1 steps/s")
    assert "ETA 0:00:06" in line
    clock.now += 31
    bar.update()  # due by time
    assert len(out.getvalue().splitlines()) == 2
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("train: 5/10 steps")


def test_a_short_run_prints_nothing_and_off_silences(monkeypatch):
    out = io.StringIO()  # not a terminal
    with progress_bar(total=3, desc="x", stream=out) as bar:
        for _ in range(3):
            bar.update()
    assert out.getvalue() == ""
    monkeypatch.setenv("HQSEG_PROGRESS", "off")
    assert list(progress_bar(range(3), stream=out, every_n=1)) == [0, 1, 2]
    assert out.getvalue() == ""


def test_heartbeat_speaks_during_a_long_item():
    import time

    out = io.StringIO()
    bar = progress_bar(total=2, desc="slow", stream=out, every_s=0.2)
    time.sleep(0.6)  # one long item: the heartbeat must print meanwhile
    bar.close()
    assert "slow: 0/2" in out.getvalue()
