"""Names that come from users never leave their root (issue 17, item 2).

``--name`` is checked like ``?name=`` (and like a params.yaml ``custom:`` name), and a
name inside the user's data (a COCO annotation id) that would point outside the work
folder is never used as a path.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import blob, photo, save  # noqa: E402

from hqseg.cli import main  # noqa: E402


def _run(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.fixture
def source(tmp_path) -> Path:
    save(photo(0), tmp_path / "src" / "images" / "0.jpg", quality=90)
    save(blob(), tmp_path / "src" / "masks" / "0.png")
    return tmp_path / "src"


@pytest.mark.parametrize(
    "name", ["x/../../../../escaped", "../escaped", "/tmp/escaped", ".", "..", "a/b", "ok\n"]
)
def test_normalize_name_that_would_leave_out_is_one_line(tmp_path, source, name):
    (tmp_path / "a" / "b").mkdir(parents=True)
    before = _files(tmp_path)
    code, out = _run(["normalize", f"folder:{source}", "--name", name,
                      "--out", tmp_path / "a" / "b"])  # fmt: skip
    assert code == 2 and out.startswith("error: ") and out.count("\n") == 1, out
    assert "source name" in out and "Traceback" not in out
    assert _files(tmp_path) == before


def test_params_custom_name_that_would_leave_out_is_one_line(tmp_path, source):
    params = tmp_path / "params.yaml"
    params.write_text(f"custom:\n  - name: ../../escaped\n    spec: folder:{source}\n")
    code, out = _run(["build", "--custom-from", params, "--preset", "official", "--raw-dir",
                      tmp_path / "raw", "--normalized", tmp_path / "n", "--out",
                      tmp_path / "b", "--allow-missing"])  # fmt: skip
    assert code == 2 and out.startswith("error: ") and out.count("\n") == 1, out
    assert "source name" in out
    assert not (tmp_path / "b").exists() and not (tmp_path / "escaped").exists()


def test_coco_annotation_id_never_becomes_a_path_outside(tmp_path, monkeypatch):
    """The id's mask is written in the work folder (under tempfile's folder): an id of
    ``../../../escaped`` would have put it at tmp_path/escaped.png."""
    save(photo(0), tmp_path / "coco" / "images" / "a.jpg", quality=90)
    ann = {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
           "annotations": [{"id": "../../../escaped", "image_id": 1, "category_id": 1,
                            "segmentation": [[5, 5, 30, 5, 30, 25, 5, 25]]}],
           "categories": [{"id": 1, "name": "thing"}]}  # fmt: skip
    (tmp_path / "coco" / "ann.json").write_text(json.dumps(ann))
    (tmp_path / "t").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    code, out = _run(["normalize", f"coco:{tmp_path / 'coco' / 'ann.json'}?name=shapes",
                      "--out", tmp_path / "n", "--workers", "1"])  # fmt: skip
    assert code == 0, out
    assert "1 records" in out, out
    assert not list(tmp_path.glob("escaped*")) and not list((tmp_path / "t").iterdir())
