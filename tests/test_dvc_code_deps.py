"""dvc.yaml: stages depend on the code they run, so a code change makes them stale."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _deps(stage: dict) -> list[str]:
    return stage.get("deps", []) or stage.get("do", {}).get("deps", [])


def test_every_stage_lists_its_code():
    stages = _stages()
    want = {
        "sample": {"hqseg/sample", "hqseg/cli"},
        "download": {"hqseg/data", "pipelines/download.py", "pipelines/params.py"},
        "normalize": {"hqseg/data", "hqseg/cli"},
        "build": {"hqseg/data", "hqseg/cli"},
        "train": {"hqseg/training", "hqseg/modeling", "hqseg/evaluation", "hqseg/metrics"},
        "coco_sample": {"hqseg/sample", "hqseg/cli"},
        "eval_hq": {"hqseg/evaluation", "hqseg/modeling", "hqseg/metrics", "hqseg/cli"},
        "eval_coco": {"hqseg/evaluation", "hqseg/modeling", "hqseg/metrics", "hqseg/cli"},
        "report": {"hqseg/report", "hqseg/cli"},
    }
    for name, code in want.items():
        assert code <= set(_deps(stages[name])), (name, code - set(_deps(stages[name])))


def test_eval_follows_the_train_section():
    stages = _stages()
    exported = "${train.out}/sam_hq_${train.model_type}.pth"
    assert exported in stages["train"]["outs"]
    for name in ("eval_hq", "eval_coco"):
        cmd = " ".join(stages[name]["cmd"].split())
        assert f"--checkpoint {exported}" in cmd and "--model-type ${train.model_type}" in cmd
        assert exported in _deps(stages[name])
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert "model_type" not in params["eval"] and "checkpoint" not in params["eval"]


def test_editing_metrics_code_makes_dvc_status_list_the_eval_stages(tmp_path):
    """A real ``dvc status`` on a copy of the tracked files, before and after an edit."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tmp_path / rel)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)

    def status() -> dict:
        out = subprocess.run(
            [shutil.which("dvc") or "dvc", "status", "--json"],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return json.loads(out or "{}")

    target = tmp_path / "hqseg" / "metrics" / "summary.py"
    target.write_text(target.read_text() + "\n# edited\n")
    after = status()
    for name in ("eval_hq", "eval_coco", "train"):
        assert "hqseg/metrics" in json.dumps(after.get(name, [])), (name, after.get(name))
