"""The paper's reference numbers (``eval/paper_reference.json``, FACTS §5) next to ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hqseg.errors import HqsegError

DEFAULT_PAPER = Path("eval/paper_reference.json")
_DEFAULT_NAMES = {"sam": "SAM", "hq_sam": "HQ-SAM"}


def load_paper(path: str | Path = DEFAULT_PAPER) -> dict[str, Any]:
    """Read the reference file; raise HqsegError naming it when missing or malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise HqsegError(f"{path}: cannot read the paper reference ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise HqsegError(f"{path}: expected an object with a 'models' mapping")
    return data


def paper_rows(paper: dict[str, Any], hq: dict[str, Any], coco: dict[str, Any]) -> list[dict]:
    """One row per (model type, model) of the paper, plus this run's numbers.

    Each row has ``source``, ``model`` (``sam`` = the line's baseline, ``hq_sam``), its
    display ``name`` (SAM / HQ-SAM, MobileSAM / Light HQ-SAM, SAM 2.1 / HQ-SAM 2) and the
    metrics; a model with ``coco_multimask`` numbers gets a second, ``multi-mask`` row.

    Ours: HQ-4 = the ``mean`` entry of ``hq/metrics.json`` (or the only benchmark);
    COCO AP / AP_B = ``segm.AP`` / ``boundary.AP`` of ``coco/metrics.json``.
    """
    ours_hq = hq.get("mean") or (next(iter(hq.values())) if len(hq) == 1 else {})
    rows = []
    for model_type, models in paper["models"].items():
        for model, ref in models.items():
            name = ref.get("name") or _DEFAULT_NAMES.get(model, model)
            for coco_key, suffix in (("coco", ""), ("coco_multimask", " multi-mask")):
                if coco_key != "coco" and coco_key not in ref:
                    continue
                hq4 = ref.get("hq4", {}) if coco_key == "coco" else {}
                rows.append(
                    {
                        "source": f"paper {model_type}{suffix}",
                        "model": model,
                        "name": name,
                        "mIoU": hq4.get("mIoU"),
                        "mBIoU": hq4.get("mBIoU"),
                        "AP": ref.get(coco_key, {}).get("AP"),
                        "AP_B": ref.get(coco_key, {}).get("AP_B"),
                    }
                )
    for model in ("sam", "hq_sam"):
        ours_c = coco.get(model, {})
        rows.append(
            {
                "source": "this run",
                "model": model,
                "name": _DEFAULT_NAMES[model],
                "mIoU": ours_hq.get(model, {}).get("mIoU"),
                "mBIoU": ours_hq.get(model, {}).get("mBIoU"),
                "AP": ours_c.get("segm", {}).get("AP"),
                "AP_B": ours_c.get("boundary", {}).get("AP"),
            }
        )
    return rows
