"""HQ benchmark evaluation: box rule, metric math, summaries, outputs, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from evalfakes import make_record

from hqseg.cli import main
from hqseg.evaluation.boxes import binarize_gt, mask_to_box, xywh_to_xyxy
from hqseg.evaluation.hq import evaluate_hq_split, summarize
from hqseg.metrics import boundary_iou


def test_box_is_tight_inclusive_and_gt_threshold_is_strict():
    mask = np.zeros((20, 30), np.uint8)
    mask[3:8, 4:11] = 129
    mask[15, 25] = 128  # not foreground: threshold is > 128
    box = mask_to_box(binarize_gt(mask))
    assert box.tolist() == [4, 3, 10, 7]
    assert mask_to_box(binarize_gt(np.full((5, 5), 128, np.uint8))) is None
    assert xywh_to_xyxy([[1, 2, 3, 4]]).tolist() == [[1, 2, 4, 6]]


def test_per_image_metrics_exact(fake_predictor):
    # GT 40x40 square in a 256x256 image; SAM's fake mask misses the right column.
    records = [make_record("x/1", "dis_vd", 256, 256, (8, 8, 47, 47))]
    table, summary = evaluate_hq_split(
        fake_predictor, records, mask_type=("hq", "sam"), progress=False
    )
    hq = table[table.model == "hq_sam"].iloc[0]
    sam = table[table.model == "sam"].iloc[0]
    assert hq.iou_pct == 100.0 and hq.biou_pct == 100.0
    assert sam.iou_pct == pytest.approx(97.5)
    gt = np.zeros((256, 256), bool)
    gt[8:48, 8:48] = True
    sam_mask = gt.copy()
    sam_mask[:, 47] = False
    assert sam.biou_pct == pytest.approx(100 * boundary_iou(gt, sam_mask))
    assert (hq.height, hq.width, hq.benchmark) == (256, 256, "dis_vd")
    assert summary["dis_vd"]["sam"]["mIoU"] == pytest.approx(97.5)
    assert fake_predictor.encoded == 1  # both mask types from one encoding


def test_default_mask_type_is_hq_only(fake_predictor):
    records = [make_record("x/1", "thin", 256, 256, (5, 5, 14, 14))]
    table, summary = evaluate_hq_split(fake_predictor, records, progress=False)
    assert list(table.model) == ["hq_sam"]
    assert {c[0] for c in fake_predictor.calls} == {"hq"}
    assert summary == {"thin": {"hq_sam": {"mIoU": 100.0, "mBIoU": 100.0, "n": 1}}}


def test_summary_means_over_images_then_benchmarks():
    table = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "benchmark": ["b1", "b1", "b2"],
            "model": ["sam"] * 3,
            "iou_pct": [50.0, 100.0, 20.0],
            "biou_pct": [25.0, 75.0, 10.0],
            "height": 1,
            "width": 1,
        }
    )
    s = summarize(table)
    assert s["b1"]["sam"] == {"mIoU": 75.0, "mBIoU": 50.0, "n": 2}
    assert s["mean"]["sam"]["mIoU"] == pytest.approx((75.0 + 20.0) / 2)


def test_cli_hq_writes_outputs_and_lists_skips(build_folder, tmp_path, fake_predictor, monkeypatch):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: fake_predictor)
    out = tmp_path / "eval_hq"
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "hq",
            "--data",
            str(build_folder),
            "--out",
            str(out),
            "--model-type",
            "test_vit",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    per_image = pd.read_csv(out / "per_image.csv")
    assert set(per_image.id) == {"dis5k/a", "dis5k/b", "coift/c"}
    assert len(per_image) == 6
    skipped = pd.read_csv(out / "skipped.csv")
    assert skipped.id.tolist() == ["coift/empty"] and "empty" in skipped.reason[0]
    assert list(per_image.columns[3:5]) == ["iou_pct", "biou_pct"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["unit"] == "percent" and metrics["protocol"] == "square"
    assert metrics["dis_vd"]["hq_sam"]["mIoU"] == 100.0
    assert "in percent" in res.output
    assert metrics["mean"]["sam"]["n"] == 3
    masks = json.loads((out / "masks.json").read_text())
    assert set(masks["hq_sam"]) == {"dis5k/a", "dis5k/b", "coift/c"}


def test_cli_hq_missing_requested_split_is_a_clear_error(
    build_folder, tmp_path, fake_predictor, monkeypatch
):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: fake_predictor)
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "hq",
            "--data",
            str(build_folder),
            "--split",
            "hrsod",
            "--random-weights",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "hrsod" in res.output and "Traceback" not in res.output


def test_colour_and_palette_masks_keep_channel_0():
    import io

    from PIL import Image

    from hqseg.evaluation.hq import decode_gt

    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[1:3, 1:4, 0] = 200
    rgb[..., 1] = 255  # luminance would call every pixel foreground
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    assert np.array_equal(decode_gt(buf.getvalue()), rgb[..., 0])
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    buf = io.BytesIO()
    pal.save(buf, "PNG")
    assert np.array_equal(decode_gt(buf.getvalue()), np.asarray(pal.convert("RGB"))[..., 0])
