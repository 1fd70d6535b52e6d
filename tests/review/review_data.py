"""A synthetic ``audit.csv`` over the embedded sample's build, for the review-page tests.

The audit's numbers are made up (seeded): these tests check the page, not the scoring.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIGNALS = ("sig_edges", "sig_colour", "sig_coarse")
GONE = "ecssd/not_in_build"  # an audit row whose record is no longer in the build


@dataclass
class Audit:
    build: Path
    csv: Path
    rows: list[dict]  # as written, with numbers as floats


def build_ids(build: Path) -> list[tuple[str, str, str]]:
    """(id, source, split) of every record of a build folder, from its per-source configs."""
    from hqseg.data.card import parse_front_matter
    from hqseg.data.records import load_split

    meta = parse_front_matter((build / "README.md").read_text(encoding="utf-8"))
    out = []
    for config in meta["configs"]:
        if config["config_name"] in ("default", "hq_eval"):
            continue
        for entry in config["data_files"]:
            ids = load_split(build, config["config_name"], entry["split"])["id"]
            out += [(rid, config["config_name"], entry["split"]) for rid in ids]
    return sorted(out)


def write_audit(build: Path, path: Path, *, model: bool = False, seed: int = 0) -> Audit:
    """audit.csv over every record of ``build`` plus :data:`GONE` (top score), seeded values."""
    rng = np.random.default_rng(seed)
    records = [*build_ids(build), (GONE, "ecssd", "test")]
    rows = []
    for rid, source, split in records:
        sig = {s: round(float(rng.uniform()), 4) for s in SIGNALS}
        score = 2.0 if rid == GONE else round(sum(sig.values()) / 3, 4)
        reasons = "; ".join(f"{s[4:]} high" for s, v in sig.items() if v > 0.7) or "none"
        row = {"id": rid, "source": source, "split": split, "score": score, "rank": 0,
               "reasons": reasons, **sig}  # fmt: skip
        if model:
            row["iou_model"] = round(float(rng.uniform()), 4)
            row["biou_model"] = "" if rid.endswith("0") else round(float(rng.uniform()), 4)
        rows.append(row)
    rows.sort(key=lambda r: (-r["score"], r["id"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Audit(build, path, rows)
