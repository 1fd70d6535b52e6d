"""`hqseg eval coco` on an instances file that lacks what it needs: one-line error."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hqseg.cli import main

IMAGE = {"id": 1, "height": 4, "width": 4, "file_name": "a.jpg"}
ANN = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 1.0}
SEG = {"segmentation": [[0, 0, 2, 0, 2, 2]], "bbox": [0, 0, 2, 2]}


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ({**ANN, "bbox": [0, 0, 2, 2]}, "annotation 1 lacks segmentation"),
        ({**ANN, "segmentation": SEG["segmentation"]}, "annotation 1 needs a bbox"),
        ({**ANN, **SEG, "image_id": 7}, "annotation 1 has unknown image_id 7"),
    ],
)
def test_eval_coco_with_incomplete_annotations(tmp_path, annotation, message):
    gt = tmp_path / "instances.json"
    categories = [{"id": 1, "name": "thing"}]
    gt.write_text(
        json.dumps({"images": [IMAGE], "annotations": [annotation], "categories": categories})
    )
    res = CliRunner().invoke(
        main,
        ["eval", "coco", "--annotations", str(gt), "--images", str(tmp_path), "--oracle-boxes",
         "--model-type", "test_vit", "--device", "cpu", "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    # after the start-up line (model, weights, data): one error line
    lines = [x for x in res.output.splitlines() if not x.startswith("model test_vit | ")]
    assert lines[0].startswith(f"error: {gt}: ") and message in res.output
    assert "Traceback" not in res.output
