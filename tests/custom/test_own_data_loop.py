"""The README's "Train HQ-SAM on your own data" recipe, run as a user would: build, train,
eval, report with gallery, with no flag beyond the recipe's (tiny model, smallest sizes)."""

from __future__ import annotations

import json
import re

import pandas as pd
from click.testing import CliRunner
from custom_data import folder_dataset

from hqseg.cli import main


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_own_data_build_train_eval_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder_dataset(tmp_path / "mine")  # mine/{train,val}: 4 training and 2 evaluation pairs
    _run(["build", "--preset", "none", "--add", "folder:mine", "--licence", "CC BY 4.0",
          "--out", "data/mine", "--workers", "1"])  # fmt: skip

    card = (tmp_path / "data" / "mine" / "README.md").read_text()
    assert "HQSeg-44K" not in card.split("\n# ", 1)[1].splitlines()[0]
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert "hq_eval" not in snippet
    names: dict = {}
    exec(snippet.replace("PATH", str(tmp_path / "data" / "mine")), names)  # the card's usage
    assert len(names["train"]) == 4 and len(names["val"]) == 2

    wrong = CliRunner().invoke(main, ["train", "--data", "data/mine", "--model-type", "test_vit",
                                       "--out", "runs/x", "--val-config", "mine",
                                       "--val-splits", "nope", "--device", "cpu"])  # fmt: skip
    assert wrong.exit_code == 2 and wrong.output.startswith("error: "), wrong.output
    assert "config 'mine' with split(s) train, val" in wrong.output
    assert "--val-config CONFIG --val-splits SPLIT" in wrong.output
    out = _run(["train", "--data", "data/mine", "--model-type", "test_vit", "--out", "runs/mine",
                "--max-steps", "1", "--batch-size", "1", "--loss-points", "64", "--device", "cpu",
                "--no-progress"])  # fmt: skip
    assert "evaluation splits" in out and "mine/val" in out
    summary = json.loads((tmp_path / "runs" / "mine" / "summary.json").read_text())
    assert set(summary["val_after"]) == {"mine_val", "mIoU", "mBIoU"}

    out = _run(["eval", "hq", "--benchmark", "folder:mine", "--checkpoint",
                "runs/mine/sam_hq_test_vit.pth", "--out", "eval/mine/hq", "--device", "cpu",
                "--no-progress"])  # fmt: skip
    assert "left out training split 'train' (4 image(s)" in out
    assert "scoring split 'val' as benchmark 'mine_val': 2 image(s)" in out
    per_image = pd.read_csv(tmp_path / "eval" / "mine" / "hq" / "per_image.csv")
    assert set(per_image.benchmark) == {"mine_val"} and len(per_image) == 2 * 2  # SAM, HQ-SAM
    prov = json.loads((tmp_path / "eval" / "mine" / "hq" / "provenance.json").read_text())
    assert prov["data"]["specs"] == ["folder:mine"]

    _run(["report", "--results", "eval/mine", "--out", "eval/mine/report", "--paper", "",
          "--data", "data/mine", "--gallery-k", "1"])  # fmt: skip
    report = (tmp_path / "eval" / "mine" / "report" / "report.md").read_text()
    assert "No gallery" not in report
    assert "- data: `folder:mine`" in report  # provenance names the scored set
    assert list((tmp_path / "eval" / "mine" / "report" / "gallery").glob("*.png"))
