"""Reading an evaluation results folder (``eval/``), from disk or from a git revision.

A results folder holds what ``hqseg eval hq`` / ``hqseg eval coco`` write:
``hq/per_image.csv``, ``hq/metrics.json``, ``hq/masks.json`` (optional, for the
gallery), ``hq/skipped.csv``, ``coco/metrics.json`` and each part's ``provenance.json``
(optional: results written before it existed have none). Every part is optional, but
at least one of the two metrics files must be there. Each of ``hq/`` and ``coco/`` is
one unit: when it carries the marker of :mod:`hqseg.utils.outdir`, its files must have
the hashes recorded there (no mix of two runs), or loading stops with one line.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hqseg.metrics.units import per_image_in_percent, without_unit
from hqseg.report.validate import (
    ResultsError,
    check_coco_metrics,
    check_hq_metrics,
    check_per_image,
    check_unit,
)
from hqseg.utils.outdir import MARKER, OutputDirError
from hqseg.utils.outdir import check_unit as check_output_unit

FILES = (
    "hq/per_image.csv",
    "hq/metrics.json",
    "hq/skipped.csv",
    "hq/masks.json",
    "coco/metrics.json",
    "hq/provenance.json",
    "coco/provenance.json",
    f"hq/{MARKER}",
    f"coco/{MARKER}",
)


@dataclass
class Results:
    """One run's evaluation results.

    Every score is in percent (see :mod:`hqseg.metrics.units`).

    Attributes:
        label: where they came from (folder or ``git:REV``).
        per_image: per-image table (columns id, benchmark, model, iou_pct, biou_pct,
            height, width) or None. A table written before the percent columns (``iou``,
            ``biou`` as fractions) is converted on reading.
        hq: ``hq/metrics.json`` benchmarks (``{benchmark: {model: {mIoU, mBIoU, n}}}``),
            without its ``unit`` and ``protocol`` entries, or {}.
        hq_protocol: the protocol named in ``hq/metrics.json``, or None.
        coco: ``coco/metrics.json`` content without its ``unit`` entry, or {}.
        skipped: images the HQ evaluation could not score, or an empty table.
        masks: ``hq/masks.json`` content (``{model: {id: RLE}}``) when present, else None.
        provenance: ``{part: provenance.json content or None}`` for each part present
            (``"hq"``, ``"coco"``); None = not recorded (older results).
        checkpoints: the units of an ``eval hq`` run over several checkpoints
            (``hq/<unit>/metrics.json``; :func:`hqseg.report.checkpoints.load_units`).
    """

    label: str
    per_image: pd.DataFrame | None = None
    hq: dict[str, Any] = field(default_factory=dict)
    coco: dict[str, Any] = field(default_factory=dict)
    hq_protocol: str | None = None
    skipped: pd.DataFrame | None = None
    masks: dict[str, dict[str, dict]] | None = None
    provenance: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def model_table(self, model: str) -> pd.DataFrame | None:
        """Per-image rows of one model (``"sam"`` or ``"hq_sam"``), or None."""
        if self.per_image is None:
            return None
        rows = self.per_image[self.per_image.model == model]
        return rows if len(rows) else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read metrics JSON ({exc})") from exc
    except RecursionError as exc:
        raise ResultsError(f"{path}: cannot read metrics JSON (nested too deeply)") from exc


def load_results(folder: str | Path, *, label: str | None = None) -> Results:
    """Load a results folder.

    Raises:
        ResultsError: the folder has neither ``hq/metrics.json`` nor ``coco/metrics.json``,
            or a file in it is malformed.
    """
    folder = Path(folder)
    res = Results(label=label or str(folder))
    for part in ("hq", "coco"):  # files of one part must come from one run
        if (folder / part).is_dir():
            try:
                check_output_unit(folder / part)
            except OutputDirError as exc:
                raise ResultsError(str(exc)) from exc
    if (folder / "hq" / "per_image.csv").is_file():
        try:
            res.per_image = pd.read_csv(folder / "hq" / "per_image.csv", dtype={"id": str})
        except (OSError, ValueError) as exc:
            raise ResultsError(f"{folder / 'hq' / 'per_image.csv'}: {exc}") from exc
        res.per_image = per_image_in_percent(res.per_image)
        missing = {"id", "benchmark", "model", "iou_pct", "biou_pct"} - set(res.per_image.columns)
        if missing:
            raise ResultsError(
                f"{folder / 'hq' / 'per_image.csv'}: missing column(s) {sorted(missing)}"
            )
        check_per_image(res.per_image, folder / "hq" / "per_image.csv")
    if (folder / "hq" / "metrics.json").is_file():
        hq = _read_json(folder / "hq" / "metrics.json")
        check_unit(hq, folder / "hq" / "metrics.json")
        res.hq_protocol = hq.get("protocol") if isinstance(hq.get("protocol"), str) else None
        res.hq = {k: v for k, v in hq.items() if k not in ("unit", "protocol")}
        check_hq_metrics(res.hq, folder / "hq" / "metrics.json")
    if (folder / "coco" / "metrics.json").is_file():
        coco = _read_json(folder / "coco" / "metrics.json")
        check_unit(coco, folder / "coco" / "metrics.json")
        res.coco = without_unit(coco)
        check_coco_metrics(res.coco, folder / "coco" / "metrics.json")
    if (folder / "hq" / "skipped.csv").is_file():
        res.skipped = pd.read_csv(folder / "hq" / "skipped.csv", dtype=str)
    if (folder / "hq" / "masks.json").is_file():
        res.masks = _read_json(folder / "hq" / "masks.json")
    for part, present in (("hq", res.hq or res.per_image is not None), ("coco", res.coco)):
        path = folder / part / "provenance.json"
        if present:
            res.provenance[part] = _read_json(path) if path.is_file() else None
            if not isinstance(res.provenance[part], dict | None):
                raise ResultsError(f"{path}: expected a JSON object")
    from hqseg.report.checkpoints import load_units

    res.checkpoints = load_units(folder / "hq") if (folder / "hq").is_dir() else {}
    if not res.hq and not res.coco and res.per_image is None and not res.checkpoints:
        raise ResultsError(
            f"{folder}: no evaluation results (expected hq/metrics.json, hq/per_image.csv "
            "or coco/metrics.json; run `hqseg eval hq` / `hqseg eval coco`)"
        )
    return res


def load_results_at_rev(rev: str, results_dir: str | Path, *, repo: str | Path = ".") -> Results:
    """Load the results folder as committed at git revision ``rev`` (``git show REV:path``).

    Raises:
        ResultsError: not a git repository, unknown revision, or no results at that revision.
    """
    repo = Path(repo)
    try:
        top = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        subprocess.run(
            ["git", "-C", top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ResultsError(
            f"--base {rev}: not a git revision or folder (no folder {rev}, and no such "
            f"revision in {repo.resolve()})"
        ) from exc
    try:
        prefix = Path(results_dir).resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError as exc:
        raise ResultsError(
            f"--base {rev}: {results_dir} is not inside the git repository {top}"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="hqseg-base-") as tmp:
        for name in FILES:
            show = subprocess.run(
                ["git", "-C", top, "show", f"{rev}:{prefix}/{name}"], capture_output=True
            )
            if show.returncode == 0:
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_bytes(show.stdout)
        try:
            return load_results(tmp, label=f"git:{rev}")
        except ResultsError as exc:
            raise ResultsError(
                f"--base {rev}: {prefix}/ has no results at that revision ({exc})"
            ) from exc


def load_base(base: str, results_dir: str | Path) -> Results:
    """``--base``: a results folder when ``base`` is an existing folder, else a git revision."""
    if Path(base).is_dir():
        return load_results(base)
    repo = Path(results_dir) if Path(results_dir).is_dir() else Path(".")
    return load_results_at_rev(base, results_dir, repo=repo)
