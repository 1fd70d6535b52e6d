"""Provenance: collected, written in the eval units, shown by the report with the sample banner."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata

import numpy as np
import pytest
from click.testing import CliRunner
from evalfakes import FakePredictor, make_record, write_build_folder

from hqseg.cli import main
from hqseg.provenance import (
    VOLATILE_KEYS,
    collect_provenance,
    git_state,
    is_sample_data,
    stable_part,
)
from hqseg.report import write_report
from hqseg.report.provenance import SAMPLE_BANNER
from hqseg.sample.coco import write_coco_sample
from hqseg.utils.outdir import read_marker


@pytest.fixture
def checkpoint(tmp_path):
    """A readable torch file (eval reads --checkpoint before the model loads); the model
    itself is faked, so its content is never used."""
    import torch

    path = tmp_path / "sam_hq_tiny.pth"
    torch.save({"not_really": torch.zeros(3)}, path)
    return path


@pytest.fixture
def build(tmp_path):
    return write_build_folder(
        tmp_path / "build",
        {"thin": [make_record("thin/a", "thin", 256, 256, (5, 5, 30, 20))]},
    )


def _sample_card(folder):
    """Mark a build folder's card ``sample: true``, as a build from the sample does."""
    card = folder / "README.md"
    card.write_text(card.read_text().replace("---\n", "---\nsample: true\n", 1))
    return folder


def test_collect_hashes_checkpoint_and_reads_versions(checkpoint, tmp_path):
    prov = collect_provenance(
        model_type="tiny", checkpoint=checkpoint, params={"limit": 3}, repo=tmp_path
    )
    want = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert prov["checkpoint"] == {"path": str(checkpoint), "sha256": want}
    assert prov["model_type"] == "tiny" and prov["params"] == {"limit": 3}
    assert prov["packages"]["numpy"] == np.__version__
    assert prov["packages"]["hqseg"] == metadata.version("hqseg")
    assert prov["packages"]["torch"] == metadata.version("torch")
    assert set(prov["packages"]) >= {"segment-anything", "pycocotools", "pillow", "datasets"}
    assert prov["data"] == {"path": None, "sample": None}
    # tmp_path is no git checkout: no revision, and a reason instead of a guess.
    assert prov["git"]["revision"] is None and prov["git"]["dirty"] is None
    assert "not in a git checkout" in prov["git"]["reason"]
    again = collect_provenance(
        model_type="tiny", checkpoint=checkpoint, params={"limit": 3}, repo=tmp_path
    )
    assert again == prov and set(VOLATILE_KEYS) <= set(prov)
    assert collect_provenance(model_type="tiny", checkpoint=None)["checkpoint"] is None


def test_git_state_of_the_code_checkout():
    state = git_state()  # the hqseg package's folder: this worktree in tests
    assert len(state["revision"]) == 40 and isinstance(state["dirty"], bool)


def test_dirty_looks_at_code_files_only(tmp_path):
    """dvc.lock and results change mid-pipeline under ``dvc repro``: not dirty; code is."""

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "pkg").mkdir()
    for rel in ("pkg/code.py", "dvc.lock", "eval.json"):
        (tmp_path / rel).write_text("1\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    (tmp_path / "dvc.lock").write_text("2\n")
    (tmp_path / "eval.json").write_text("2\n")
    (tmp_path / "new_result.csv").write_text("2\n")
    assert git_state(tmp_path / "pkg")["dirty"] is False
    (tmp_path / "pkg" / "new.py").write_text("2\n")
    assert git_state(tmp_path / "pkg")["dirty"] is True
    (tmp_path / "pkg" / "new.py").unlink()
    (tmp_path / "pkg" / "code.py").write_text("2\n")
    assert git_state(tmp_path)["dirty"] is True


def test_sample_flag_from_the_card_and_the_coco_sample(build, tmp_path):
    assert is_sample_data(build) is False
    assert is_sample_data(_sample_card(build)) is True
    coco = write_coco_sample(tmp_path / "coco", seed=0)
    assert is_sample_data(coco["annotations"]) is True
    assert is_sample_data(None) is None and is_sample_data(tmp_path / "nowhere") is None
    (build / "README.md").write_text("---\nconfigs: [\n---\n")  # damaged: unknown, no raise
    assert is_sample_data(build) is None


def _eval_hq(build, out, checkpoint, monkeypatch):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: FakePredictor())
    args = ["eval", "hq", "--data", str(build), "--out", str(out), "--model-type", "test_vit"]
    res = CliRunner().invoke(main, [*args, "--checkpoint", str(checkpoint), "--no-progress"])
    assert res.exit_code == 0, res.output
    return json.loads((out / "provenance.json").read_text())


def test_eval_hq_writes_provenance_in_its_unit_and_report_shows_it(
    build, checkpoint, tmp_path, monkeypatch
):
    out = tmp_path / "eval" / "hq"
    prov = _eval_hq(build, out, checkpoint, monkeypatch)
    assert prov["model_type"] == "test_vit"
    assert prov["data"] == {"path": str(build), "sample": False}
    assert prov["checkpoint"]["sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert prov["params"]["resize_mode"] == "square" and prov["params"]["limit"] is None
    assert "provenance.json" in read_marker(out)["files"]  # part of the unit, hash-checked
    first = (out / "provenance.json").read_bytes()
    _eval_hq(build, out, checkpoint, monkeypatch)  # same inputs, same bytes
    assert (out / "provenance.json").read_bytes() == first

    text = write_report(tmp_path / "eval", tmp_path / "r").read_text()
    assert "## Provenance" in text and SAMPLE_BANNER not in text
    assert "### this run: HQ benchmarks" in text and "- model type: `test_vit`" in text
    assert prov["checkpoint"]["sha256"][:16] in text and "`resize_mode=square`" in text
    assert f"| `numpy` | {np.__version__} |" in text
    assert "- git revision: " in text
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Provenance" in html


def test_sample_data_puts_the_banner_on_top(build, checkpoint, tmp_path, monkeypatch):
    _eval_hq(_sample_card(build), tmp_path / "eval" / "hq", checkpoint, monkeypatch)
    text = write_report(tmp_path / "eval", tmp_path / "r").read_text()
    assert text.index(SAMPLE_BANNER) < text.index("Results: ")
    assert "(embedded sample)" in text


def test_eval_coco_writes_provenance(tmp_path, checkpoint, monkeypatch):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: FakePredictor())
    coco = write_coco_sample(tmp_path / "coco", seed=0)
    out = tmp_path / "eval" / "coco"
    args = ["eval", "coco", "--annotations", str(coco["annotations"]), "--images"]
    args += [str(coco["images"]), "--oracle-boxes", "--out", str(out), "--model-type", "test_vit"]
    res = CliRunner().invoke(main, [*args, "--checkpoint", str(checkpoint), "--no-progress"])
    assert res.exit_code == 0, res.output
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["data"]["sample"] is True and prov["params"]["oracle_boxes"] is True
    assert "provenance.json" in read_marker(out)["files"]
    text = write_report(tmp_path / "eval", tmp_path / "r").read_text()
    assert text.startswith("# hqseg evaluation report\n\n" + SAMPLE_BANNER)
    assert "### this run: COCO" in text


def test_older_results_without_provenance_say_not_recorded(tmp_path, build, base_and_new):
    base, old = base_and_new  # hand-made hq/ and coco/ parts, no provenance.json
    text = write_report(old, tmp_path / "r", base=str(base)).read_text()
    assert text.count("Not recorded (results written before `provenance.json` existed).") == 4
    assert SAMPLE_BANNER not in text and "### Package versions" not in text
    # The report's --data can still tell it is the sample.
    text = write_report(old, tmp_path / "r2", data_dir=_sample_card(build)).read_text()
    assert SAMPLE_BANNER in text


def test_volatile_keys_are_left_out_of_comparisons(checkpoint, tmp_path):
    prov = collect_provenance(model_type="tiny", checkpoint=checkpoint)
    other = {**prov, "git": {"revision": "0" * 40, "dirty": True}, "platform": "elsewhere"}
    assert stable_part(prov) == stable_part(other) and "git" not in stable_part(prov)


def test_eval_hq_benchmark_spec_writes_provenance(tmp_path, checkpoint, monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "custom"))
    from custom_data import folder_dataset

    folder_dataset(tmp_path / "mine")
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: FakePredictor())
    out = tmp_path / "ev"
    spec = f"folder:{tmp_path / 'mine'}?name=mine_val"
    args = ["eval", "hq", "--benchmark", spec, "--model-type", "test_vit", "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--checkpoint", str(checkpoint), "--no-progress"])
    assert res.exit_code == 0, res.output
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["params"]["benchmarks"] == [spec] and prov["data"]["path"] is None
    assert "provenance.json" in read_marker(out)["files"]


def test_model_type_inferred_from_the_checkpoint_is_recorded(build, tmp_path, monkeypatch):
    import torch

    from hqseg.modeling import build_hq_sam

    ckpt = tmp_path / "sam_hq_test_vit.pth"
    torch.save(build_hq_sam("test_vit").state_dict(), ckpt)
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: FakePredictor())
    out = tmp_path / "ev"
    args = ["eval", "hq", "--data", str(build), "--out", str(out), "--checkpoint", str(ckpt)]
    res = CliRunner().invoke(main, [*args, "--no-progress"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "provenance.json").read_text())["model_type"] == "test_vit"
