"""What people read from DVC: ``dvc metrics show`` is one tidy table that fits 100 columns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from hqseg.metrics.headline import (
    audit_headline,
    coco_headlines,
    hq_headlines,
    nested,
    train_headline,
)

ROOT = Path(__file__).resolve().parents[1]


def _metric_paths() -> list[str]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    out = []
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for entry in stage.get("metrics", []):
            path = next(iter(entry)) if isinstance(entry, dict) else entry
            out.append(path.replace("${train.out}", params["train"]["out"]))
    return out


def test_one_key_style_nested():
    assert nested({"dis_vd/mIoU": 1.0, "mIoU": 2.0}) == {"dis_vd": {"mIoU": 1.0}, "mIoU": 2.0}
    assert nested(None) is None


def test_dvc_metrics_show_fits_100_columns(tmp_path):
    """The headline files of the committed results, as the stages write them, shown by a
    real ``dvc metrics show`` at COLUMNS=100: one row per file, seven shared columns."""
    for name in ("dvc.yaml", "params.yaml", ".dvc/config"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    read = lambda rel: json.loads((ROOT / rel).read_text())  # noqa: E731
    train_out = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["out"]
    summary = read(f"{train_out}/summary.json")
    summary["val_after"] = nested(summary["val_after"])  # committed before the key change
    files = {f"{train_out}/headline.json": train_headline(summary)}
    for folder, headlines in (
        ("eval/hq", hq_headlines(read("eval/hq/metrics.json"))),
        ("eval/coco", coco_headlines(read("eval/coco/metrics.json"))),
    ):
        files |= {f"{folder}/{name}": value for name, value in headlines.items()}
    files["eval/audit/headline.json"] = audit_headline({"above_threshold": 1})
    assert sorted(files) == sorted(_metric_paths())  # dvc.yaml declares exactly these
    for rel, value in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps(value))
    shown = subprocess.run(
        [shutil.which("dvc") or "dvc", "metrics", "show"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={**os.environ, "COLUMNS": "100"},
    ).stdout.splitlines()  # fmt: skip
    assert shown[0].split() == ["Path", "AP", "AP_B", "loss", "mBIoU", "mIoU", "steps", "suspects"]
    assert len(shown) == 1 + len(files)
    assert max(len(line) for line in shown) <= 100, shown


def test_offline_plots_are_one_self_contained_file(tmp_path):
    """Every plot of dvc.yaml (committed results), drawn into one HTML with no script and
    no network address; each panel is a PNG with something drawn on it."""
    import base64
    import io
    import re
    import sys

    import numpy as np
    from PIL import Image

    out = tmp_path / "plots.html"
    done = subprocess.run(
        [sys.executable, "-m", "hqseg.report.dvc_plots", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "<script" not in page and not re.search(r"https?://", page)
    sources = re.findall(r'src="([^"]*)"', page)
    train_out = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["out"]
    series = list((ROOT / train_out / "dvclive" / "plots" / "metrics").rglob("*.tsv"))
    assert len(sources) == len(series) + 2  # + paired_iou.csv scatter + training_curves.png
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))
        assert pixels.std() > 10  # not a blank panel
    assert f"{train_out}/dvclive/plots/metrics/train/loss.tsv" in page
