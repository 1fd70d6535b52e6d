"""``hqseg eval results`` refuses wrongly typed or impossible input with one clear line.

Each case used to give a traceback or, worse, a number (NaN scores were ranked, negative
RLE counts wrapped around in pycocotools). Run through the CLI as a user would.
"""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.metrics.rle import rle_counts
from tests.metrics.cocogen import make_coco

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

GT, RES = make_coco(3, sizes=((40, 50),), seed=7)
assert any(isinstance(a["segmentation"], list) for a in GT["annotations"])


def _gt(change):
    def edit(gt, res):
        change(gt)
        return gt, res

    return edit


def _res(change):
    def edit(gt, res):
        change(res[0])
        return gt, res

    return edit


def _first_polygon(gt):
    return next(a for a in gt["annotations"] if isinstance(a["segmentation"], list))


def _negative_counts(r):
    r["segmentation"] = {"size": [40, 50], "counts": [-5, 10, 1995]}


def _rle_string(counts: list[int]) -> str:
    """pycocotools' string form of ``counts`` (deltas from the third value on)."""
    out = []
    for i, x in enumerate(counts):
        x -= counts[i - 2] if i > 2 else 0
        while True:
            c, x = x & 0x1F, x >> 5
            more = not (x == 0 and not c & 0x10 or x == -1 and c & 0x10)
            out.append(chr(48 + (c | 0x20 * more)))
            if not more:
                break
    return "".join(out)


assert all(
    _rle_string(rle_counts(r["segmentation"]).tolist()) == r["segmentation"]["counts"]
    for r in RES
)


CASES = {
    "nan score": (_res(lambda r: r.update(score=float("nan"))), "scores must be finite"),
    "inf score": (_res(lambda r: r.update(score=float("inf"))), "scores must be finite"),
    "string score": (_res(lambda r: r.update(score="0.9")), "non-numeric score"),
    "iscrowd no": (
        _gt(lambda g: g["annotations"][0].update(iscrowd="no")), "'iscrowd' must be 0 or 1"
    ),
    "ignore 2": (_gt(lambda g: g["annotations"][0].update(ignore=2)), "'ignore' must be 0 or 1"),
    "height x": (
        _gt(lambda g: g["images"][0].update(height="x")), "must be positive integers"
    ),
    "width 0": (_gt(lambda g: g["images"][0].update(width=0)), "must be positive integers"),
    "huge image": (
        _gt(lambda g: g["images"][0].update(height=10**9, width=10**9)), "more than a COCO RLE"
    ),
    "file_name 123": (
        _gt(lambda g: g["images"][0].update(file_name=123)), "'file_name' must be a string"
    ),
    "gt bbox string": (
        _gt(lambda g: g["annotations"][0].update(bbox="1,2,3,4")), "'bbox' must be a list of 4"
    ),
    "result bbox nan": (
        _res(lambda r: r.update(bbox=[0, 0, float("nan"), 1])), "'bbox' must be a list of 4"
    ),
    "area string": (_gt(lambda g: g["annotations"][0].update(area="big")), "'area' must be"),
    "polygon of strings": (
        _gt(lambda g: _first_polygon(g).update(segmentation=[["a"] * 6])), "finite numbers"
    ),
    "empty polygon list": (
        _gt(lambda g: _first_polygon(g).update(segmentation=[])), "empty list"
    ),
    "category id list": (_res(lambda r: r.update(category_id=[1])), "not in the ground truth"),
    "image id dict": (_res(lambda r: r.update(image_id={"a": 1})), "not in the ground truth"),
    "negative counts (list)": (_res(_negative_counts), "RLE counts are negative"),
    "negative counts (string)": (
        # adds up to 40 x 50, so only the sign gives it away
        _res(lambda r: r["segmentation"].update(counts=_rle_string([10, -5, 1995]))),
        "RLE counts are negative",
    ),
    "float counts": (
        _res(lambda r: r["segmentation"].update(counts=[0.5, 1999.5])), "not a list of integers"
    ),
    "short counts": (
        _res(lambda r: r["segmentation"].update(counts=_rle_string([10, 5]))), "corrupt"
    ),
    "foreign characters": (
        _res(lambda r: r["segmentation"].update(counts="\x7f\x7f")), "RLE counts are corrupt"
    ),
    "non-ascii counts": (
        _res(lambda r: r["segmentation"].update(counts="é")), "RLE counts are not ASCII"
    ),
    "counts number": (
        _res(lambda r: r["segmentation"].update(counts=5)), "'counts' must be a string"
    ),
    "size strings": (
        _res(lambda r: r["segmentation"].update(size=["40", "50"])), "'size' must be [height"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line(tmp_path, case):
    edit, message = CASES[case]
    gt, res = edit(copy.deepcopy(GT), copy.deepcopy(RES))
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    args = ["--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    r = CliRunner().invoke(main, ["eval", "results", *args, "--workers", "1"])
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert message in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_the_unedited_set_is_accepted(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "res.json").write_text(json.dumps(RES))
    args = ["--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json")]
    r = CliRunner().invoke(main, ["eval", "results", *args, "--workers", "1"])
    assert r.exit_code == 0, r.output
