"""scripts/reproduce_compare.py: the comparison behind scripts/reproduce.sh (and CI's last step)."""

import importlib.util
import json
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reproduce_compare.py"
_spec = importlib.util.spec_from_file_location("reproduce_compare", _SCRIPT)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
compare, main = _module.compare, _module.main


def _run(root, miou=12.5, speed=3.0, revision="abc", per_image="id,iou_pct\na,1.0\n"):
    (root / "eval/hq").mkdir(parents=True)
    (root / "runs/hq_sam/dvclive/plots/metrics/train").mkdir(parents=True)
    (root / "eval/hq/metrics.json").write_text(json.dumps({"dis_vd": {"hq_sam": {"mIoU": miou}}}))
    (root / "eval/hq/per_image.csv").write_text(per_image)
    prov = {"model_type": "test_vit", "git": {"revision": revision, "dirty": False}}
    (root / "eval/hq/provenance.json").write_text(json.dumps(prov))
    summary = {"train/loss": 0.5, "train/images_per_s": speed}
    (root / "runs/hq_sam/dvclive/metrics.json").write_text(json.dumps(summary))
    plots = root / "runs/hq_sam/dvclive/plots/metrics/train"
    (plots / "loss.tsv").write_text("step\tloss\n0\t0.5\n")
    (plots / "images_per_s.tsv").write_text(f"step\timages_per_s\n0\t{speed}\n")
    return root


def test_equal_runs_pass_and_speed_and_git_revision_are_left_out(tmp_path, capsys):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b", speed=9.0, revision="def")
    assert compare(a, b) == []
    assert main([str(a), str(b)]) == 0
    assert "reproduced: 5 result files" in capsys.readouterr().out


def test_any_metric_or_table_difference_is_named(tmp_path, capsys):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b", miou=12.500001, per_image="id,iou_pct\na,1.5\n")
    diffs = compare(a, b)
    assert "eval/hq/metrics.json/dis_vd/hq_sam/mIoU: committed 12.5, fresh 12.500001" in diffs
    assert "eval/hq/per_image.csv: contents differ" in diffs
    assert main([str(a), str(b)]) == 1
    assert "NOT reproduced: 2 difference(s)" in capsys.readouterr().err


def test_a_file_missing_from_the_fresh_run_is_a_difference(tmp_path):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b")
    (b / "eval/hq/per_image.csv").unlink()
    assert compare(a, b) == ["eval/hq/per_image.csv: missing in the fresh run"]
