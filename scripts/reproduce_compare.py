"""Compare the committed results of the main job with a fresh run's, value for value.

``scripts/reproduce.sh`` clones the repository, runs ``dvc repro`` in the clone and calls
``python scripts/reproduce_compare.py COMMITTED FRESH``. Every tracked metrics file and
per-image table must be equal: JSON values exactly (floats included), CSV/TSV files
byte for byte. Two kinds of value are left out, because no run can reproduce them:

* wall-clock speeds (``images_per_s`` keys, their DVC plot series);
* the git revision and dirty flag of a run and the platform string (``provenance.json``'s
  :data:`hqseg.provenance.VOLATILE_KEYS`): the committed run was made before its own commit
  existed, on another kernel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hqseg.provenance import VOLATILE_KEYS as PROVENANCE_VOLATILE

# Files of the main job that must reproduce (relative to the repository root).
RESULT_FILES = (
    "eval/data/stats.json",
    "eval/hq/metrics.json",
    "eval/hq/per_image.csv",
    "eval/hq/skipped.csv",
    "eval/hq/masks.json",
    "eval/coco/metrics.json",
    "eval/hq/provenance.json",
    "eval/coco/provenance.json",
    "eval/report/paired_iou.csv",
    "runs/hq_sam/summary.json",
    "runs/hq_sam/dvclive/metrics.json",
    # the headline metric files (hqseg/metrics/headline.py)
    "runs/hq_sam/headline.json",
    "eval/hq/headline_sam.json",
    "eval/hq/headline_hq_sam.json",
    "eval/coco/headline_sam.json",
    "eval/coco/headline_hq_sam.json",
    # the audit's counts (its per-record float signals in audit.csv are left out: OpenCV and
    # NumPy pick SIMD paths by CPU, and this comparison must hold on any x86-64 CPU)
    "eval/audit/summary.json",
    "eval/audit/headline.json",
)
PLOTS_DIR = "runs/hq_sam/dvclive/plots/metrics"
# speeds, plus what hqseg.provenance calls volatile (git state, platform string)
VOLATILE_KEYS = frozenset({"images_per_s", *PROVENANCE_VOLATILE})


def _strip(value: Any) -> Any:
    """``value`` without the keys no run can reproduce (at any depth)."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if not any(part in VOLATILE_KEYS for part in str(k).split("/"))
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _diff_json(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}/{k}: only in the committed run" for k in sorted(set(a) - set(b))]
        out += [f"{where}/{k}: only in the fresh run" for k in sorted(set(b) - set(a))]
        for k in sorted(set(a) & set(b)):
            out += _diff_json(a[k], b[k], f"{where}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff_json(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: committed {a!r}, fresh {b!r}"]


def result_files(root: Path) -> list[str]:
    """The files to compare under ``root`` (plot series without speed series)."""
    names = [f for f in RESULT_FILES if (root / f).is_file()]
    plots = root / PLOTS_DIR
    if plots.is_dir():
        names += sorted(
            str(p.relative_to(root))
            for p in plots.rglob("*.tsv")
            if not VOLATILE_KEYS & set(p.relative_to(plots).with_suffix("").parts)
        )
    return names


def compare(committed: Path, fresh: Path) -> list[str]:
    """Every difference between the two runs' results, as readable lines (empty: equal)."""
    committed, fresh = Path(committed), Path(fresh)
    names = result_files(committed)
    out = [f"{n}: missing in the fresh run" for n in names if not (fresh / n).is_file()]
    out += [f"{n}: not in the committed results" for n in result_files(fresh) if n not in names]
    for name in names:
        a, b = committed / name, fresh / name
        if not b.is_file():
            continue
        if name.endswith(".json"):
            out += _diff_json(
                _strip(json.loads(a.read_text())), _strip(json.loads(b.read_text())), name
            )
        elif a.read_bytes() != b.read_bytes():
            out.append(f"{name}: contents differ")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python scripts/reproduce_compare.py COMMITTED FRESH", file=sys.stderr)
        return 2
    diffs = compare(Path(args[0]), Path(args[1]))
    checked = len(result_files(Path(args[0])))
    if diffs:
        print(f"NOT reproduced: {len(diffs)} difference(s) in {checked} files", file=sys.stderr)
        for line in diffs[:200]:
            print("  " + line, file=sys.stderr)
        return 1
    print(f"reproduced: {checked} result files equal the committed ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
