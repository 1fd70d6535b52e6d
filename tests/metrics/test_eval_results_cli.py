"""``hqseg eval results``: tables, JSON output, one-line errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.metrics import STAT_NAMES

from .cocogen import make_coco
from .reference import pycocotools_segm_stats, reference_boundary_stats

# pycocotools' decode() trips a numpy 2 DeprecationWarning on every call; it is not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    gt, res = make_coco(8, seed=2)
    (root / "gt.json").write_text(json.dumps(gt))
    (root / "res.json").write_text(json.dumps(res))
    return root, gt, res


def _run(*args: str):
    return CliRunner().invoke(main, ["eval", "results", *args])


def test_prints_tables_and_writes_json_keyed_by_iou_type(files):
    root, gt, res = files
    out = root / "out" / "stats.json"
    r = _run("--gt", str(root / "gt.json"), "--results", str(root / "res.json"), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "segm" in r.output and "boundary" in r.output and "AR100" in r.output
    stats = json.loads(out.read_text())
    assert list(stats) == ["unit", "segm", "boundary"] and stats["unit"] == "percent"
    assert all(list(stats[t]) == list(STAT_NAMES) for t in ("segm", "boundary"))

    def pct(values):  # the references give fractions (-1: undefined)
        return [float(v) * 100 if v >= 0 else -1.0 for v in values]

    assert np.array_equal(list(stats["segm"].values()), pct(pycocotools_segm_stats(gt, res)))
    assert np.array_equal(list(stats["boundary"].values()), pct(reference_boundary_stats(gt, res)))
    assert f"{stats['boundary']['AP']:.3f}" in r.output and "percent" in r.output


def test_single_iou_type(files):
    root, _, _ = files
    out = root / "only.json"
    r = _run("--gt", str(root / "gt.json"), "--results", str(root / "res.json"),
             "--iou-type", "boundary", "--out", str(out), "--workers", "1")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert list(json.loads(out.read_text())) == ["unit", "boundary"]


def _bad(root, name: str, content) -> str:
    path = root / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


@pytest.mark.parametrize(
    ("which", "content", "message"),
    [
        ("results", '[{"image_id": 1,', "not valid JSON"),
        ("gt", "{not json", "not valid JSON"),
        ("results", {"image_id": 1}, "must be a JSON list"),
        ("results", "MISSING", "results file not found"),
        ("gt", "MISSING", "ground-truth file not found"),
        ("gt", {"images": []}, "has no 'annotations' list"),
    ],
)
def test_bad_input_gives_one_line_error(files, which, content, message):
    root, _, _ = files
    paths = {"gt": str(root / "gt.json"), "results": str(root / "res.json")}
    paths[which] = (
        str(root / "missing.json") if content == "MISSING" else _bad(root, "x.json", content)
    )
    r = _run("--gt", paths["gt"], "--results", paths["results"])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_results_for_unknown_images_or_wrong_size_are_named(files):
    root, _, res = files
    foreign = [dict(r, image_id=r["image_id"] + 1000) for r in res[:3]]
    r = _run("--gt", str(root / "gt.json"), "--results", _bad(root, "f.json", foreign))
    assert r.exit_code == 2 and "3 results have image_ids not in the ground truth" in r.output
    wrong = [dict(res[0], segmentation={"size": [1, 1], "counts": "11"})]
    r = _run("--gt", str(root / "gt.json"), "--results", _bad(root, "w.json", wrong))
    assert r.exit_code == 2 and "differs from the image size" in r.output
    corrupt = [dict(res[0], segmentation=dict(res[0]["segmentation"], counts="0"))]
    r = _run("--gt", str(root / "gt.json"), "--results", _bad(root, "k.json", corrupt))
    assert r.exit_code == 2 and "RLE counts are corrupt" in r.output
    nocat = [dict(res[0], category_id=99)]
    r = _run("--gt", str(root / "gt.json"), "--results", _bad(root, "c.json", nocat))
    assert r.exit_code == 2 and "category_id 99" in r.output


def test_help_explains_every_option():
    r = CliRunner().invoke(main, ["eval", "results", "--help"])
    assert r.exit_code == 0
    for opt in ("--gt", "--results", "--out", "--iou-type", "--workers", "--dilation-ratio"):
        assert opt in r.output
