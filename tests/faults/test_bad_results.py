"""Bad values given to `hqseg report` and `hqseg export`: one clear line, nothing written.

`report` reads scores in percent: a NaN (which sorted as a tie), a string or nested
object (a traceback inside pandas), an IoU of 1e9 or a file in another unit are
refused. `export` refuses a checkpoint with non-string keys or NaN/inf weights, and a
full disk (a `RuntimeError` inside `torch.save`) is one line too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from fault_helpers import ROOT, assert_one_line_error, file_size_limit  # noqa: E402

from hqseg.cli import main  # noqa: E402

ROWS = "id,benchmark,model,iou_pct,biou_pct\na,thin,sam,50.0,40.0\na,thin,hq_sam,70.0,60.0\n"
HQ = {"unit": "percent", "protocol": "square",
      "thin": {"sam": {"mIoU": 50.0, "mBIoU": 40.0, "n": 1},
               "hq_sam": {"mIoU": 70.0, "mBIoU": 60.0, "n": 1}}}  # fmt: skip


def _report(tmp_path: Path, rows: str = ROWS, hq: dict | None = None, coco: dict | None = None):
    res = tmp_path / "res"
    (res / "hq").mkdir(parents=True)
    (res / "hq" / "per_image.csv").write_text(rows)
    (res / "hq" / "metrics.json").write_text(json.dumps(HQ if hq is None else hq))
    if coco is not None:
        (res / "coco").mkdir()
        (res / "coco" / "metrics.json").write_text(json.dumps(coco))
    out = tmp_path / "rep"
    result = CliRunner().invoke(main, ["report", "--results", res, "--out", out, "--paper", ""])
    return result.exit_code, result.output, out


def test_good_results_make_a_report(tmp_path):
    """The checks below refuse only what is wrong."""
    stats = {"AP": 12.5, "APs": -1.0}
    coco = {"unit": "percent", "sam": {"segm": stats, "boundary": stats},
            "setup": {"prompts": "detections"}}  # fmt: skip
    code, output, out = _report(tmp_path, coco=coco)
    assert code == 0, output
    assert (out / "report.md").is_file()


BAD_ROWS = {
    "nan-cell": (ROWS.replace("70.0,60.0", "nan,60.0"), "iou_pct"),
    "string-cell": (ROWS.replace("70.0,60.0", "70.0,high"), "biou_pct"),
    "iou-1e9": (ROWS.replace("70.0,60.0", "1e9,60.0"), "iou_pct"),
    "negative": (ROWS.replace("50.0,40.0", "-3,40.0"), "iou_pct"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_per_image_cells_are_refused(tmp_path, case):
    rows, column = BAD_ROWS[case]
    code, output, out = _report(tmp_path, rows=rows)
    assert_one_line_error(code, output, "per_image.csv", column, "0..100")
    assert not out.exists()


def _with(path: tuple, value) -> dict:
    hq = json.loads(json.dumps(HQ))
    hq["thin"]["hq_sam"][path[0]] = value
    return hq


BAD_METRICS = {
    "nan": (_with(("mIoU",), float("nan")), "thin.hq_sam.mIoU"),
    "string": (_with(("mIoU",), "70"), "thin.hq_sam.mIoU"),
    "nested": (_with(("mBIoU",), {"value": 60.0}), "thin.hq_sam.mBIoU"),
    "huge": (_with(("mIoU",), 1e9), "thin.hq_sam.mIoU"),
    "count": (_with(("n",), 1.5), "thin.hq_sam.n"),
    "fraction": ({**HQ, "unit": "fraction"}, "'fraction'"),
    "benchmark-not-object": ({**HQ, "thin": 5}, "thin"),
}


@pytest.mark.parametrize("case", sorted(BAD_METRICS))
def test_bad_metrics_are_refused(tmp_path, case):
    hq, words = BAD_METRICS[case]
    code, output, out = _report(tmp_path, hq=hq)
    assert_one_line_error(code, output, "metrics.json", words)
    assert not out.exists()


def test_bad_coco_metrics_are_refused(tmp_path):
    coco = {"unit": "percent", "sam": {"segm": {"AP": "n/a"}, "boundary": {}}}
    code, output, _ = _report(tmp_path, coco=coco)
    assert_one_line_error(code, output, "sam.segm.AP")
    code, output, _ = _report(tmp_path / "2", coco={"sam": {"segm": {"AP": 1.0}}})
    assert_one_line_error(code, output, "sam lacks boundary")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A good test_vit checkpoint, one with a NaN weight and one with an integer key."""
    from hqseg.modeling.checkpoint import official_state_dict
    from hqseg.modeling.registry import build_hq_sam

    root = tmp_path_factory.mktemp("ckpt")
    sd = official_state_dict(build_hq_sam("test_vit"))
    torch.save(sd, root / "good.pth")
    name = next(k for k, v in sd.items() if v.is_floating_point())
    nan = {**sd, name: sd[name].clone()}
    nan[name].view(-1)[0] = float("nan")
    torch.save(nan, root / "nan.pth")
    torch.save({**sd, 5: torch.zeros(1)}, root / "intkey.pth")
    return root


BAD_CHECKPOINTS = [("nan.pth", ("NaN or inf",)), ("intkey.pth", ("non-tensor entries", "5"))]


@pytest.mark.parametrize(("name", "words"), BAD_CHECKPOINTS)
def test_export_refuses_bad_weights(tmp_path, checkpoints, name, words):
    out = tmp_path / "o.pth"
    args = ["export", checkpoints / name, "--model-type", "test_vit", "--out", out]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert_one_line_error(result.exit_code, result.output, *words)
    assert not out.exists()


def test_export_on_a_full_disk_is_one_clear_error(tmp_path, checkpoints):
    out = tmp_path / "o.pth"
    proc = subprocess.run(
        [sys.executable, "-m", "hqseg.cli", "export", str(checkpoints / "good.pth"),
         "--model-type", "test_vit", "--out", str(out)],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=300, preexec_fn=file_size_limit(1 << 20),
    )  # fmt: skip
    assert_one_line_error(proc.returncode, proc.stdout + proc.stderr, "cannot write")
    assert list(tmp_path.iterdir()) == [], "no partial or temporary file is left"
