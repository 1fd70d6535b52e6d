"""The report's comparison of several checkpoints of one ``eval hq`` run.

``hqseg eval hq --checkpoint A --checkpoint B`` writes ``hq/<A stem>/``, ``hq/<B stem>/``
and ``hq/sam/`` (the SAM baseline), each a full results unit. This module reads their
``metrics.json`` and writes one table: a row per benchmark, the SAM baseline's and each
checkpoint's mIoU / mBIoU side by side (percent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hqseg.report import markdown as md
from hqseg.report.validate import ResultsError, check_hq_metrics, check_unit
from hqseg.utils.outdir import OutputDirError
from hqseg.utils.outdir import check_unit as check_output_unit


def load_units(hq_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``{unit: {benchmark: {model: {mIoU, mBIoU, n}}}}`` of each subfolder of ``hq_dir``
    holding a ``metrics.json`` (name order); {} when there is none.

    Raises:
        ResultsError: a unit is mixed or its metrics are malformed.
    """
    import json

    units: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(hq_dir).glob("*/metrics.json")):
        try:
            check_output_unit(path.parent)
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except (OutputDirError, OSError, ValueError) as exc:
            raise ResultsError(f"{path}: {exc}") from exc
        check_unit(metrics, path)
        scores = {k: v for k, v in metrics.items() if k not in ("unit", "protocol")}
        check_hq_metrics(scores, path)
        units[path.parent.name] = scores
    return units


def checkpoints_section(units: dict[str, dict[str, Any]], names: dict[str, str]) -> list[str]:
    """Markdown: the SAM baseline (unit ``sam``) and every checkpoint, per benchmark."""
    baseline = units.get("sam", {})
    ckpts = [u for u in units if u != "sam"]
    benches = list(dict.fromkeys(b for u in units.values() for b in u))
    rows = []
    for bench in benches:
        sam = baseline.get(bench, {}).get("sam", {})
        row = [names.get(bench, bench), sam.get("mIoU"), sam.get("mBIoU")]
        for unit in ckpts:
            hq = units[unit].get(bench, {}).get("hq_sam", {})
            row += [hq.get("mIoU"), hq.get("mBIoU")]
        rows.append(row)
    headers = ["benchmark", "SAM mIoU (%)", "SAM mBIoU (%)"]
    headers += [f"{u} {m} (%)" for u in ckpts for m in ("mIoU", "mBIoU")]
    return [
        "## Checkpoints compared",
        "",
        f"{len(ckpts)} checkpoint(s) sharing one image encoder, scored in one run (each "
        "image encoded once); HQ-SAM = HQ-token output of each, SAM = the baseline.",
        "",
        md.table(headers, rows),
        "",
    ]
