"""What users watch: per-step metric files for ``dvc plots``, a PNG training curve.

Only rank 0 creates a :class:`Monitor`; other ranks get :class:`NullMonitor`.
Files (the layout dvclive uses, so ``dvc plots`` and existing configs keep working)::

    <run>/dvclive/plots/metrics/train/loss.tsv   "step<TAB>loss" rows, one per logged step
    <run>/dvclive/plots/metrics/val/mIoU.tsv     ... one file per metric name
    <run>/dvclive/metrics.json                   the newest value of every metric + "step"

They are a view of the run's :class:`~hqseg.training.history.History`: rows are
appended as steps are logged (so a running job can be watched) and every file is
rewritten atomically from the history at each checkpoint and on resume, so the
files always end up holding exactly the checkpointed rows, each step once. No
timestamps are written: the same run gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hqseg.training.history import History, finite_or_null
from hqseg.utils.atomic import write_bytes, write_json, write_text


class NullMonitor:
    """Does nothing (non-zero ranks)."""

    def log(self, step: int, values: dict[str, float]) -> None:
        pass

    def sync(self, history: History) -> None:
        pass


class Monitor(NullMonitor):
    """Metric files under ``<run_dir>/dvclive`` (see module doc)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir) / "dvclive"
        self.metrics_dir = self.dir / "plots" / "metrics"

    def _tsv(self, name: str) -> Path:
        return self.metrics_dir / f"{name}.tsv"

    def log(self, step: int, values: dict[str, float]) -> None:
        """Append one row per metric (a live view; :meth:`sync` makes it exact)."""
        for name, value in values.items():
            path = self._tsv(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            new = not path.is_file()
            with path.open("a") as fh:
                if new:
                    fh.write(f"step\t{name.split('/')[-1]}\n")
                fh.write(f"{int(step)}\t{_num(value)}\n")

    def sync(self, history: History) -> None:
        """Rewrite every metric file and metrics.json from ``history``; drop stale files."""
        names = history.names()
        for name in names:
            leaf = name.split("/")[-1]
            rows = "".join(f"{s}\t{_num(v)}\n" for s, v in history.series(name))
            write_text(self._tsv(name), f"step\t{leaf}\n{rows}")
        wanted = {self._tsv(n) for n in names}
        if self.metrics_dir.is_dir():
            for stale in self.metrics_dir.rglob("*.tsv"):
                if stale not in wanted:
                    stale.unlink()
        latest: dict = {}
        for name, value in history.latest().items():
            node = latest
            *parents, leaf = name.split("/")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        if history.rows:
            latest["step"] = max(history.rows)
        write_json(self.dir / "metrics.json", finite_or_null(latest)[0])


def _num(value: float) -> str:
    return repr(float(value))


def read_metric(run_dir: str | Path, name: str) -> list[tuple[int, float]]:
    """(step, value) rows of one metric file, e.g. ``"train/loss"``."""
    tsv = Path(run_dir) / "dvclive" / "plots" / "metrics" / f"{name}.tsv"
    if not tsv.is_file():
        return []
    rows = csv.DictReader(io.StringIO(tsv.read_text()), delimiter="\t")
    key = name.split("/")[-1]
    return [(int(r["step"]), float(r[key])) for r in rows]


def read_metrics_json(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "dvclive" / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def plot_curves(history: History, path: str | Path) -> None:
    """Save a PNG with the training loss per step and validation mIoU / mBIoU per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = history.series("train/loss")
    miou = history.series("val/mIoU")
    mbiou = history.series("val/mBIoU")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    if loss:
        ax1.plot(*zip(*loss, strict=True), lw=1)
    ax1.set(title="training loss (BCE + dice)", xlabel="optimiser step", ylabel="loss")
    for rows, label in ((miou, "mIoU"), (mbiou, "mBIoU")):
        if rows:
            ax2.plot(*zip(*rows, strict=True), marker="o", label=label)
    ax2.set(title="held-out validation (HQ token, GT box)", xlabel="optimiser step", ylabel="%")
    if miou or mbiou:
        ax2.legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    write_bytes(path, buffer.getvalue())
