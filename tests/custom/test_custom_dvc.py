"""params.yaml `custom:` and its dvc.yaml stages: empty by default, tracked when declared."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from custom_data import folder_dataset

REPO = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


def _run(args, cwd):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _project(tmp_path, custom) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, project / name)
    for code in ("hqseg", "pipelines"):  # the stages list the code they run as deps
        shutil.copytree(REPO / code, project / code,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["custom"] = custom
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert _run(["git", "init", "-q"], project).returncode == 0
    assert _run(["dvc", "init", "-q"], project).returncode == 0
    return project


def test_committed_params_declare_an_empty_custom_list():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert params["custom"] == []


@pytest.mark.slow
def test_declared_source_is_a_stage_watching_its_folder(tmp_path):
    mine = tmp_path / "mine"
    folder_dataset(mine)
    entry = {"name": "mine", "spec": f"folder:{mine}?mask_suffix=_mask", "path": str(mine),
             "licence": "MIT"}  # fmt: skip
    project = _project(tmp_path, [entry])
    listed = _run(["dvc", "stage", "list"], project)
    assert "custom@0" in listed.stdout and "data/normalized/mine" in listed.stdout, listed
    done = _run(["dvc", "repro", "-s", "custom@0"], project)
    assert done.returncode == 0, done.stderr
    summary = project / "data" / "normalized" / "mine" / "summary.json"
    assert yaml.safe_load(summary.read_text())["records"] == 6
    assert "up to date" in _run(["dvc", "status", "custom@0"], project).stdout
    # the build stage's command reads the stage's output as it is (no second normalisation)
    before = summary.stat().st_mtime_ns
    built = _run(["hqseg", "build", "--preset", "none", "--normalized", "data/normalized",
                  "--custom-from", "params.yaml", "--custom-dir", "data/normalized",
                  "--out", "data/out", "--workers", "1"], project)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert summary.stat().st_mtime_ns == before
    assert "MIT" in (project / "data" / "out" / "README.md").read_text()
    # a change in the user's folder makes the stage (and so the build) out of date
    (mine / "train" / "images" / "lonely.jpg").unlink()
    status = _run(["dvc", "status", "custom@0"], project).stdout
    assert "changed deps" in status and str(mine) in status


def test_empty_custom_list_keeps_the_pipeline_valid(tmp_path):
    project = _project(tmp_path, [])
    listed = _run(["dvc", "stage", "list"], project)
    assert listed.returncode == 0 and "build" in listed.stdout and "custom@" not in listed.stdout
