"""Custom sources composed with the sample's official preset; training on it; custom benchmarks."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import datasets
import pandas as pd
import pytest
from click.testing import CliRunner
from custom_data import coco_dataset, folder_dataset, hf_dataset

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluation"))  # evalfakes

from hqseg.cli import main
from hqseg.data.build import build


@pytest.fixture(scope="module")
def composed(built, sample_raw, tmp_path_factory):
    """(out, stats, data root): official sample + folder (with two planted leaks) + COCO + HF."""
    _, official = built("official", "drop")
    _, raw = sample_raw
    root = tmp_path_factory.mktemp("custom")
    folder_dataset(root / "mine")
    # leak 1: a DIS-VD image (hq_eval) copied into the user's training data
    vd_image = sorted(raw.glob("dis5k/**/DIS-VD/im/*.jpg"))[0]
    shutil.copy(vd_image, root / "mine" / "train" / "images" / "from_vd.jpg")
    vd_mask = sorted(raw.glob(f"dis5k/**/DIS-VD/gt/{vd_image.stem}.png"))[0]
    shutil.copy(vd_mask, root / "mine" / "train" / "masks" / "from_vd_mask.png")
    # leak 2: the user's own validation image also in their training data
    for sub, name in (("images", "val0.jpg"), ("masks", "val0_mask.png")):
        target = name.replace("val0", "again")
        shutil.copy(root / "mine" / "val" / sub / name, root / "mine" / "train" / sub / target)
    coco_dataset(root / "coco")
    hf_dataset(root / "hfset")
    out = root / "out"
    stats = build(
        "official",
        normalized_dir=official.parent / "normalized",
        raw_dir=raw,
        out=out,
        add=[
            f"folder:{root / 'mine'}",
            f"coco:{root / 'coco' / 'annotations.json'}?name=shapes",
            f"hf:{root / 'hfset'}",
        ],  # fmt: skip
        licences=["CC BY 4.0", "CC0 1.0", "MIT"],
        custom_dir=root / "customs",
        workers=2,
        progress=False,
    )
    return out, stats, root


def test_composed_build_adds_training_records_and_lists_sources(composed, built):
    out, stats, _ = composed
    base = json.loads((built("official", "drop")[1] / "stats.json").read_text())
    assert stats["total_train"] == base["total_train"] + 4 + 3 + 3  # the two leaks dropped
    train = datasets.load_dataset(str(out), "default", split="train")
    assert {"mine", "shapes", "hfset", "dis5k"} <= set(train["source"])
    card = (out / "README.md").read_text()
    for text in ("## Added sources", "| `mine` | folder |", "CC BY 4.0", "CC0 1.0", "| MIT |",
                 "custom coco source", "## Sources, terms"):  # fmt: skip
        assert text in card, text
    assert "hq_eval" in [c["config_name"] for c in __import__("yaml").safe_load(
        card.split("---")[1])["configs"]]  # fmt: skip


def test_leaks_into_evaluation_splits_are_reported_and_dropped(composed):
    out, stats, _ = composed
    with (out / "duplicates.csv").open(newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows["mine/from_vd"]["leak"] == "True" and rows["mine/from_vd"]["action"] == "dropped"
    assert rows["mine/from_vd"]["kept_id"].startswith("dis5k/")
    assert rows["mine/again"]["leak"] == "True" and rows["mine/again"]["kept_id"] == "mine/val0"
    train_ids = set(datasets.load_dataset(str(out), "default", split="train")["id"])
    assert not {"mine/from_vd", "mine/again"} & train_ids
    assert "mine/val0" in datasets.load_dataset(str(out), "mine", split="val")["id"]


def test_conservation_per_source_public_and_custom(composed):
    out, stats, _ = composed
    saved = json.loads((out / "stats.json").read_text())
    assert saved["conservation"] == stats["conservation"]
    assert {"dis5k", "ecssd", "hrsod", "mine", "shapes", "hfset"} <= set(stats["conservation"])
    for source, row in stats["conservation"].items():
        assert row["inputs"] == row["records"] + row["rejects"] + row["dropped"], source
    assert stats["conservation"]["mine"] == {"inputs": 10, "records": 6, "rejects": 2,
                                             "dropped": 2, "excluded": 0}  # fmt: skip


@pytest.mark.slow
def test_training_runs_on_the_composed_build(composed, tmp_path):
    from hqseg.training.config import TrainConfig
    from hqseg.training.loop import train

    out, _, _ = composed
    config = TrainConfig(data=str(out), out=str(tmp_path / "run"), model_type="test_vit",
                         max_steps=2, batch_size=1, loss_points=256, validate=False,
                         device="cpu", checkpoint_every=0)  # fmt: skip
    result = train(config, progress=False)
    assert result.steps == 2
    assert (tmp_path / "run" / "sam_hq_test_vit.pth").is_file()


def _bench_spec(root, kind):
    return {
        "folder": f"folder:{root / 'mine'}?name=mine_val",
        "coco": f"coco:{root / 'coco' / 'annotations.json'}",
        "hf": f"hf:{root / 'hfset'}::validation",
    }[kind]


@pytest.mark.parametrize(("kind", "expected"), [("folder", 2), ("coco", 3), ("hf", 2)])
def test_custom_benchmark_runs_the_hq_protocol_on_every_record(composed, tmp_path, kind,
                                                               expected):  # fmt: skip
    """Every record of the evaluation splits (folder: val; coco and hf have one split)."""
    from evalfakes import FakePredictor

    from hqseg.evaluation.custom_benchmark import evaluate_custom_benchmarks

    _, _, root = composed
    summary = evaluate_custom_benchmarks(FakePredictor(), [_bench_spec(root, kind)],
                                         tmp_path / "ev", progress=False)  # fmt: skip
    per_image = pd.read_csv(tmp_path / "ev" / "per_image.csv")
    assert sorted(per_image.model.unique()) == ["hq_sam", "sam"] and len(per_image) == 2 * expected
    hq = per_image[(per_image.model == "hq_sam") & ~per_image.id.str.endswith("from_vd")]
    # the fake's HQ mask fills the GT box: rectangles score 1 once GT > 128 is taken right
    # (0/1 folder masks read as binary, HF mattes keep 200 in and 90 out)
    assert (hq.iou_pct > 90).all() and (kind == "coco" or (hq.iou_pct == 100.0).all())
    name = per_image.benchmark.iloc[0]
    assert summary[name]["hq_sam"]["n"] == expected
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text()) == summary
    assert set(json.loads((tmp_path / "ev" / "masks.json").read_text())) == {"hq_sam", "sam"}


def test_custom_benchmark_scores_each_evaluation_split_and_train_only_when_asked(composed,
                                                                                 tmp_path):
    from evalfakes import FakePredictor

    from hqseg.evaluation.custom_benchmark import evaluate_custom_benchmarks

    _, _, root = composed
    said: list[str] = []
    summary = evaluate_custom_benchmarks(FakePredictor(), [_bench_spec(root, "folder")],
                                         tmp_path / "ev", progress=False, say=said.append)
    assert [k for k in summary if isinstance(summary[k], dict)] == ["mine_val_val"]
    assert any("left out training split 'train' (6 image(s)" in line for line in said), said
    summary = evaluate_custom_benchmarks(FakePredictor(), [_bench_spec(root, "folder")],
                                         tmp_path / "ev", progress=False, with_train=True)
    assert summary["mine_val_train"]["hq_sam"]["n"] == 6
    assert summary["mine_val_val"]["hq_sam"]["n"] == 2 and "mean" in summary


@pytest.mark.slow
def test_eval_hq_benchmark_cli_with_the_tiny_model(composed, tmp_path):
    _, _, root = composed
    args = ["eval", "hq", "--benchmark", _bench_spec(root, "coco"), "--model-type", "test_vit",
            "--device", "cpu", "--limit", "1", "--out", str(tmp_path / "ev"),
            "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    per_image = pd.read_csv(tmp_path / "ev" / "per_image.csv")
    assert sorted(per_image.model) == ["hq_sam", "sam"] and per_image.iou_pct.between(0, 100).all()
    assert "annotations" in result.output and "mIoU" in result.output


def test_benchmark_bad_spec_is_one_clear_error(tmp_path):
    args = ["eval", "hq", "--benchmark", f"folder:{tmp_path / 'nothing'}", "--model-type",
            "test_vit", "--device", "cpu", "--out", str(tmp_path / "ev")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    # the start-up line (model, weights, the benchmark spec), then one error line
    lines = [x for x in result.output.splitlines() if not x.startswith("model test_vit | ")]
    assert result.exit_code == 2 and lines[0].startswith("error: ") and len(lines) == 1
    assert "is not a folder" in result.output


def test_custom_benchmark_results_feed_the_report(composed, tmp_path):
    from evalfakes import FakePredictor

    from hqseg.evaluation.custom_benchmark import evaluate_custom_benchmarks

    _, _, root = composed
    evaluate_custom_benchmarks(FakePredictor(), [_bench_spec(root, "hf")],
                               tmp_path / "res" / "hq", progress=False)  # fmt: skip
    args = ["report", "--results", str(tmp_path / "res"), "--out", str(tmp_path / "rep"),
            "--paper", ""]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| hfset | 2 |" in (tmp_path / "rep" / "report.md").read_text()
