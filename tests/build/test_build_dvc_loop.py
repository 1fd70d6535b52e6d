"""The curation loop in DVC: params.yaml ``build.exclude`` -> ``hqseg build --exclude``, and
the audit stage between build and report."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.data.exclude import read_exclude
from pipelines.build import command_line
from pipelines.params import section

REPO = Path(__file__).resolve().parents[2]


def _stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _deps(stage: dict) -> set[str]:
    return set(stage.get("deps", []))


def test_params_build_section_maps_onto_the_build_command():
    params = section("build", REPO / "params.yaml")
    assert params["exclude"] is None  # committed default: nothing excluded
    args = command_line(params)
    assert "--exclude" not in args
    flags = dict(zip(args[1::2], args[2::2], strict=False))
    assert args[0] == "build" and flags == {
        "--preset": params["preset"], "--normalized": params["normalized"],
        "--raw-dir": params["raw_dir"], "--out": params["out"], "--dedup": params["dedup"],
        "--near-threshold": str(params["near_threshold"]), "--stats-out": params["stats"],
        "--custom-from": "params.yaml", "--custom-dir": params["normalized"],
    }  # fmt: skip
    assert command_line({**params, "exclude": "curation/x.csv"})[-2:] == [
        "--exclude", "curation/x.csv"]  # fmt: skip
    assert "--exclude" not in command_line({**params, "exclude": ""})


def test_dvc_stages_make_the_loop():
    stages = _stages()
    build, audit, report = stages["build"], stages["audit"], stages["report"]
    assert build["cmd"] == "python -m pipelines.build"
    wanted = {"curation", "pipelines/build.py", "pipelines/params.py", "hqseg/data/exclude.py"}
    assert wanted <= _deps(build)
    assert "data/hqseg44k" in build["outs"] and "data/hqseg44k" in _deps(audit)  # after build
    # the audit writes its review page itself (index.html beside audit.csv)
    assert audit["cmd"].startswith("hqseg audit data/hqseg44k --out eval/audit")
    assert {"hqseg/curation", "hqseg/cli/audit.py"} <= _deps(audit)
    outs = {next(iter(o)) for o in audit["outs"]}
    assert outs == {"eval/audit/audit.csv", "eval/audit/index.html", "eval/audit/summary.json"}
    assert [next(iter(m)) for m in audit["metrics"]] == ["eval/audit/headline.json"]
    assert "eval/audit/index.html" in _deps(report)  # the report links the page
    # the watched folder holds an empty list to start from
    assert read_exclude(REPO / "curation" / "exclude.csv") == {}


def test_glue_builds_with_the_params_exclude_list(built, sample_raw, tmp_path, monkeypatch):
    _, base = built("official", "drop")
    rid = _ungrouped_ids(base)[0]
    monkeypatch.chdir(tmp_path)
    Path("curation").mkdir()
    Path("curation/exclude.csv").write_text(f"id,reason\n{rid},reviewed: mask of another image\n")
    params = {"build": {"preset": "official", "normalized": str(base.parent / "normalized"),
                        "raw_dir": str(sample_raw[1]), "out": "data/hqseg44k", "dedup": "drop",
                        "near_threshold": 6, "stats": "eval/data/stats.json",
                        "exclude": "curation/exclude.csv"}, "custom": []}  # fmt: skip
    Path("params.yaml").write_text(yaml.safe_dump(params))
    res = CliRunner().invoke(main, [*command_line(section("build")), "--workers", "1"])
    assert res.exit_code == 0, res.output
    stats = json.loads(Path("eval/data/stats.json").read_text())
    source = rid.split("/", 1)[0]
    assert stats["excluded"] == 1 and stats["conservation"][source]["excluded"] == 1
    assert f"| `{rid}` |" in Path("data/hqseg44k/README.md").read_text()


def _ungrouped_ids(build: Path) -> list[str]:
    """ecssd records of the build in no duplicate group (excluding one changes nothing else)."""
    import csv

    from hqseg.data.records import load_split

    with (build / "duplicates.csv").open(newline="") as fh:
        grouped = {i for r in csv.DictReader(fh) for i in (r["id"], r["kept_id"])}
    return [i for i in load_split(build, "ecssd", "train")["id"] if i not in grouped]
