"""COCO box-prompt evaluation: detections validation, one encoding per image, outputs, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.evaluation.coco import evaluate_coco_models
from hqseg.evaluation.coco_io import DetectionsError, load_detections, load_gt
from hqseg.sample.coco import write_coco_sample


@pytest.fixture(scope="module")
def coco_sample(tmp_path_factory):
    return write_coco_sample(tmp_path_factory.mktemp("coco") / "sample", seed=0)


def test_sample_is_valid_coco_with_crowd_and_detections(coco_sample):
    gt = load_gt(coco_sample["annotations"])
    anns = gt.dataset["annotations"]
    assert len(gt.imgs) == 8 and len(gt.cats) == 3
    assert sum(a["iscrowd"] for a in anns) == 1
    kinds = {type(a["segmentation"]).__name__ for a in anns}
    assert kinds == {"list", "dict"}
    prompts = load_detections(coco_sample["detections"], gt, top_k=2)
    assert all(len(p.boxes) <= 2 for p in prompts.values())
    p = next(iter(prompts.values()))
    assert (p.boxes[:, 2] > p.boxes[:, 0]).all() and list(p.scores) == sorted(p.scores)[::-1]
    again = write_coco_sample(coco_sample["images"].parent.parent / "again", seed=0)
    assert again["detections"].read_bytes() == coco_sample["detections"].read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "malformed JSON"),
        ('{"a": 1}', "JSON list"),
        ('[{"image_id": 1, "category_id": 1, "score": 0.5}]', "missing field(s) bbox"),
        ('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 0, 5], "score": 0.5}]', "non-positive"),
        (
            '[{"image_id": 999, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]',
            "image_id 999",
        ),
        (
            '[{"image_id": 1, "category_id": 77, "bbox": [0, 0, 5, 5], "score": 0.5}]',
            "category_id 77",
        ),
    ],
)
def test_bad_detections_name_file_and_entry(coco_sample, tmp_path, content, message):
    bad = tmp_path / "dets.json"
    bad.write_text(content)
    with pytest.raises(DetectionsError) as err:
        load_detections(bad, load_gt(coco_sample["annotations"]))
    assert str(bad) in str(err.value) and message in str(err.value)


def test_one_encoding_per_image_all_boxes_together(coco_sample, tmp_path, fake_predictor):
    metrics = evaluate_coco_models(
        fake_predictor,
        coco_sample["annotations"],
        coco_sample["images"],
        tmp_path,
        detections=coco_sample["detections"],
        progress=False,
    )
    dets = json.loads(coco_sample["detections"].read_text())
    per_image = {}
    for d in dets:
        per_image[d["image_id"]] = per_image.get(d["image_id"], 0) + 1
    assert fake_predictor.encoded == len(per_image)
    assert sorted(n for mt, n in fake_predictor.calls if mt == "sum") == sorted(per_image.values())
    assert {mt for mt, _ in fake_predictor.calls} == {"sam", "sum"}
    results = json.loads((tmp_path / "results_hq_sam.json").read_text())
    assert len(results) == len(dets)
    assert sorted(r["score"] for r in results) == sorted(d["score"] for d in dets)
    assert set(metrics) == {"unit", "sam", "hq_sam", "setup"} and metrics["unit"] == "percent"
    for model in ("sam", "hq_sam"):
        assert set(metrics[model]) == {"segm", "boundary"}
        assert 0 <= metrics[model]["segm"]["AP"] <= 100
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics


def test_cli_coco_oracle_boxes(coco_sample, tmp_path, fake_predictor, monkeypatch):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: fake_predictor)
    args = [
        "eval",
        "coco",
        "--annotations",
        str(coco_sample["annotations"]),
        "--images",
        str(coco_sample["images"]),
        "--out",
        str(tmp_path),
        "--no-progress",
        "--random-weights",  # the fake predictor stands in for the default vit_l
    ]
    res = CliRunner().invoke(main, [*args, "--oracle-boxes"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["setup"]["prompts"] == "gt_boxes"
    # Box-filled masks of GT boxes: rectangles are recovered exactly, so AP is high.
    assert metrics["hq_sam"]["segm"]["AP50"] > 50
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "--detections" in res.output


def test_cli_coco_malformed_detections_is_clear_error(
    coco_sample, tmp_path, fake_predictor, monkeypatch
):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: fake_predictor)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 2], "score": 1}]')
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "coco",
            "--annotations",
            str(coco_sample["annotations"]),
            "--images",
            str(coco_sample["images"]),
            "--detections",
            str(bad),
            "--random-weights",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "bad.json: entry 0: bbox must be 4 numbers" in res.output
    assert "Traceback" not in res.output


def test_limit_scores_only_the_images_run(coco_sample, tmp_path, fake_predictor):
    from hqseg.evaluation.coco import score_results

    one = evaluate_coco_models(
        fake_predictor,
        coco_sample["annotations"],
        coco_sample["images"],
        tmp_path,
        limit=1,
        progress=False,
    )
    assert one["setup"]["images"] == 1
    results = json.loads((tmp_path / "results_hq_sam.json").read_text())
    assert {r["image_id"] for r in results} == {1}
    against_all = score_results(load_gt(coco_sample["annotations"]), results)
    # Scored against all 8 images, the 7 not run would count as misses.
    assert one["hq_sam"]["segm"]["AR100"] > 2 * against_all["segm"]["AR100"]
