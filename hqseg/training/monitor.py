"""What users watch: dvclive metrics (for ``dvc plots``), a PNG loss curve, a summary JSON.

Only rank 0 creates a :class:`Monitor`; other ranks get :class:`NullMonitor`.
Metrics go to ``<run>/dvclive``: ``plots/metrics/train/loss.tsv`` etc. per step,
``val/mIoU`` and ``val/mBIoU`` at epoch ends, ``metrics.json`` with the latest.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from hqseg.utils.atomic import write_bytes, write_text

log = logging.getLogger(__name__)


class NullMonitor:
    """Does nothing (non-zero ranks)."""

    def log(self, step: int, values: dict[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


class Monitor(NullMonitor):
    """dvclive logger writing into ``<run_dir>/dvclive``; on resume, history after
    ``resume_step`` (written by the interrupted run after its last checkpoint) is dropped."""

    def __init__(self, run_dir: str | Path, *, resume_step: int | None = None) -> None:
        from dvclive import Live

        self.dir = Path(run_dir) / "dvclive"
        if resume_step is not None:
            truncate_history(self.dir, resume_step)
        self.live = _live_class(Live)(
            dir=str(self.dir), resume=resume_step is not None, save_dvc_exp=False, dvcyaml=None
        )

    def log(self, step: int, values: dict[str, float]) -> None:
        self.live.step = step
        for name, value in values.items():
            self.live.log_metric(name, float(value))
        self.live.make_summary()

    def close(self) -> None:
        self.live.end()


def _live_class(live_cls: type) -> type:
    """``dvclive.Live`` whose git/DVC integration degrades to a warning on git errors.

    dvclive already turns DVC errors in its repo discovery into a warning, but not
    scmrepo's ``SCMError`` (e.g. "Empty git repo" in a ``git init`` + ``dvc init``
    folder with no commit yet), which would abort training. Metrics files are written
    either way; only the experiment/git bookkeeping is skipped.
    """
    from scmrepo.exceptions import SCMError

    class _Live(live_cls):
        def _init_dvc(self) -> None:
            try:
                super()._init_dvc()
            except SCMError as exc:
                log.warning("dvclive: git integration off (%s); metrics are still logged", exc)
                self._dvc_repo = None

    return _Live


def truncate_history(dvclive_dir: Path, last_step: int) -> None:
    """Drop rows with step > ``last_step`` from every metrics TSV under ``dvclive_dir``."""
    for tsv in (dvclive_dir / "plots" / "metrics").rglob("*.tsv"):
        rows = list(csv.DictReader(io.StringIO(tsv.read_text()), delimiter="\t"))
        if not rows or "step" not in rows[0]:
            continue
        kept = [r for r in rows if int(r["step"]) <= last_step]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        write_text(tsv, out.getvalue())


def read_metric(run_dir: str | Path, name: str) -> list[tuple[int, float]]:
    """(step, value) rows of one dvclive metric, e.g. ``"train/loss"``."""
    tsv = Path(run_dir) / "dvclive" / "plots" / "metrics" / f"{name}.tsv"
    if not tsv.is_file():
        return []
    rows = csv.DictReader(io.StringIO(tsv.read_text()), delimiter="\t")
    key = name.split("/")[-1]
    return [(int(r["step"]), float(r[key])) for r in rows]


def plot_curves(run_dir: str | Path, path: str | Path) -> None:
    """Save a PNG with the training loss per step and validation mIoU / mBIoU per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = read_metric(run_dir, "train/loss")
    miou = read_metric(run_dir, "val/mIoU")
    mbiou = read_metric(run_dir, "val/mBIoU")
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
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_bytes(path, buffer.getvalue())
