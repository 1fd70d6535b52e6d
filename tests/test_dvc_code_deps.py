"""dvc.yaml: stages depend on the code they run, so a code change makes them stale."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGE_DEPS = ROOT / "scripts" / "stage_deps.py"


def _stage_deps():
    spec = importlib.util.spec_from_file_location("stage_deps", STAGE_DEPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _deps(stage: dict) -> list[str]:
    return stage.get("deps", []) or stage.get("do", {}).get("deps", [])


def test_every_stage_lists_its_code():
    stages = _stages()
    want = {
        "sample": {"hqseg/sample/writer.py", "hqseg/cli/data.py"},
        "download": {"hqseg/data/download.py", "pipelines/download.py", "pipelines/params.py"},
        "normalize": {"hqseg/data/normalize.py", "hqseg/cli/build.py"},
        "custom": {"hqseg/data/normalize.py", "hqseg/data/custom/folder.py", "hqseg/cli/build.py"},
        "build": {"hqseg/data/build.py", "hqseg/data/dedup.py", "hqseg/cli/build.py"},
        "train": {"hqseg/training", "hqseg/modeling/hq_mask_decoder.py", "hqseg/metrics"},
        "coco_sample": {"hqseg/sample", "hqseg/cli/eval_models.py"},
        "eval_hq": {"hqseg/evaluation", "hqseg/modeling/checkpoint.py", "hqseg/metrics"},
        "eval_coco": {"hqseg/evaluation/coco.py", "hqseg/modeling/checkpoint.py", "hqseg/metrics"},
        "report": {"hqseg/report/build.py", "hqseg/cli/report.py", "hqseg/cli/__init__.py"},
    }
    for name, code in want.items():
        assert code <= set(_deps(stages[name])), (name, code - set(_deps(stages[name])))


def test_code_deps_match_the_import_graph():
    """dvc.yaml's code deps are what scripts/stage_deps.py computes: they cannot drift."""
    done = subprocess.run(
        [sys.executable, str(STAGE_DEPS), "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_import_graph_follows_lazy_imports_and_no_sibling_commands():
    deps = _stage_deps()
    want = deps.wanted()
    # hqseg.report is imported only inside the report command's body.
    assert {"hqseg/report/build.py", "hqseg/report/gallery.py"} <= set(want["report"])
    others = [d for name, w in want.items() if name != "report" for d in w]
    assert not any(d.startswith("hqseg/report") for d in others)
    # normalize and build share hqseg/cli/build.py; build's own code is not normalize's.
    assert "hqseg/data/build.py" in want["build"]
    assert not any("hqseg/data/build.py" in want[n] for n in ("download", "normalize", "custom"))
    assert "hqseg/data/custom" in want["build"] and "hqseg/data/normalize.py" in want["custom"]
    # the glue module calls `hqseg download`, as GLUE says
    from pipelines.download import command_line

    params = {"raw_dir": "r", "cache_dir": "c", "origin": "sample", "sample_dir": "s"}
    assert [command_line("x", params)[0]] == list(deps.GLUE["pipelines.download"])
    assert "hqseg/data/download.py" in want["download"]
    # a rewrite puts the computed list back after the data deps, other lines untouched
    text = "stages:\n  a:\n    cmd: x\n    deps:\n      - data/x\n      - hqseg/old.py\n"
    assert deps.rewrite(text, {"a": ["hqseg/new.py"]}) == text.replace("old", "new")


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


def _tracked_copy(tmp_path: Path) -> None:
    """The tracked files of this checkout copied into ``tmp_path``, a new git repository."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tmp_path / rel)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)


def test_editing_metrics_code_makes_dvc_status_list_the_eval_stages(tmp_path):
    """A real ``dvc status`` on a copy of the tracked files, before and after an edit."""
    _tracked_copy(tmp_path)

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


def _committed_copy(tmp_path: Path) -> Path:
    """A git+dvc copy of the tracked files whose dvc.lock matches its code: every stage's
    missing deps and outs are stand-ins, recorded by ``dvc commit`` (nothing runs)."""
    from dvc.repo import Repo

    _tracked_copy(tmp_path)
    with Repo(str(tmp_path)) as repo:
        for stage in repo.index.stages:
            for item in [*stage.deps, *stage.outs]:
                path = Path(item.fs_path)
                if path.exists() or not hasattr(item, "def_path"):
                    continue
                if path.suffix:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("{}\n")
                else:
                    path.mkdir(parents=True)
                    (path / "stand_in").write_text("x\n")
        repo.commit(force=True)
    return tmp_path


def _stale(repo: Path) -> set[str]:
    out = subprocess.run(
        [shutil.which("dvc") or "dvc", "status", "--json"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return set(json.loads(out or "{}"))


def test_dvc_status_lists_only_the_stages_whose_code_changed(tmp_path, monkeypatch):
    """Real ``dvc status``: a report-only change stales only ``report``; a change in the
    build stales no download (dvc status lists the stages whose own deps changed)."""
    monkeypatch.chdir(tmp_path)  # dvc's API resolves stage paths from the cwd
    repo = _committed_copy(tmp_path)
    assert _stale(repo) == set()
    report = repo / "hqseg" / "report" / "markdown.py"
    original = report.read_text()
    report.write_text(original + "\n# edited\n")
    assert _stale(repo) == {"report"}
    report.write_text(original)
    build = repo / "hqseg" / "data" / "build.py"
    build.write_text(build.read_text() + "\n# edited\n")
    stale = _stale(repo)
    assert "build" in stale
    assert not {s for s in stale if s.split("@")[0] in ("sample", "download", "normalize")}
