"""The model signal with a random-weight model (test_vit): columns, weight, and that it
does not drown the image signals; a checkpoint of the wrong line is one clear error."""

import csv
import json

from click.testing import CliRunner

from hqseg.cli import main


def _audit(*args):
    return CliRunner().invoke(
        main, ["audit", *map(str, args), "--source", "coift", "--workers", "1", "--no-progress"]
    )


def _rows(folder):
    with open(folder / "audit.csv", newline="", encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def test_random_model_adds_columns_but_no_weight(built, tmp_path):
    _, build = built("official", "drop")
    plain = _audit(build, "--out", tmp_path / "plain")
    assert plain.exit_code == 0, plain.output
    result = _audit(build, "--out", tmp_path / "model", "--model-type", "test_vit")
    assert result.exit_code == 0, result.output
    rows, base = _rows(tmp_path / "model"), _rows(tmp_path / "plain")
    first = next(iter(rows.values()))
    assert list(first)[-3:] == ["sig_model", "iou_model", "biou_model"]
    for record_id, row in rows.items():
        iou, biou = float(row["iou_model"]), float(row["biou_model"])
        assert 0 <= iou <= 1 and 0 <= biou <= 1
        # float32 IoUs rounded to 6 decimals: 1e-6 covers the rounding of each term
        assert abs(float(row["sig_model"]) - (1 - (iou + biou) / 2)) <= 2e-6
        # a random model agrees with nothing: its weight is 0, the score the image one's
        assert row["score"] == base[record_id]["score"]
    model = json.loads((tmp_path / "model" / "summary.json").read_text())["model"]
    print(f"\nrandom test_vit: median IoU {model['median_iou']}, weight {model['weight']}")
    assert model["weight"] == 0.0 and model["scored"] == len(rows)
    # the review page shows the model's mask beside the record's; without a model it does not
    page = (tmp_path / "model" / "index.html").read_text(encoding="utf-8")
    assert page.count('alt="model mask"') == min(len(rows), 100)
    assert 'alt="model mask"' not in (tmp_path / "plain" / "index.html").read_text("utf-8")


def test_checkpoint_of_the_wrong_line_is_one_line(built, tmp_path):
    from hqseg.modeling import build_hq_sam
    from hqseg.modeling.checkpoint import save_official_checkpoint

    _, build = built("official", "drop")
    path = tmp_path / "light.pth"
    save_official_checkpoint(build_hq_sam("test_tinyvit"), path)
    result = _audit(build, "--out", tmp_path / "out", "--model-type", "test_vit",
                    "--checkpoint", path)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "checkpoint is test_tinyvit" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_real_model_type_without_weights_is_refused_before_any_work(built, tmp_path):
    _, build = built("official", "drop")
    result = _audit(build, "--out", tmp_path / "out", "--model-type", "vit_b")
    assert result.exit_code == 2, result.output
    assert "--random-weights" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
