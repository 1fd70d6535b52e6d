"""Custom sources built alone (``--preset none``): records, rejects, conservation, card."""

from __future__ import annotations

import csv
import io
import json

import datasets
import numpy as np
import pytest
from click.testing import CliRunner
from custom_data import coco_dataset, folder_dataset, hf_dataset, instance_folder
from PIL import Image

from hqseg.cli import main
from hqseg.data.build import build


def _csv(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _build(tmp_path, *specs, licences=()):
    out = tmp_path / "out"
    stats = build("none", normalized_dir=tmp_path / "n", raw_dir=tmp_path / "raw", out=out,
                  add=specs, licences=licences, workers=1, progress=False)  # fmt: skip
    return out, stats


def _raw(ds):
    return ds.cast_column("mask", datasets.Image(decode=False))


def _check_conservation(stats, name, truth):
    row = stats["conservation"][name]
    records = sum(truth["records"].values())
    rejects = sum(truth["rejects"].values())
    assert row == {"inputs": records + rejects, "records": records, "rejects": rejects,
                   "dropped": 0, "excluded": 0}  # fmt: skip


def test_folder_source_alone(tmp_path):
    truth = folder_dataset(tmp_path / "mine")
    out, stats = _build(tmp_path, f"folder:{tmp_path / 'mine'}", licences=["CC BY 4.0"])
    assert stats["mine_train"] == 4 and stats["mine_val"] == 2 and stats["total_train"] == 4
    _check_conservation(stats, "mine", truth)
    rejects = {(r["path"], r["reason"]) for r in _csv(out / "rejects.csv")}
    assert rejects == {("train/images/lonely.jpg", "mask-missing"),
                       ("train/masks/orphan_mask.png", "image-missing")}  # fmt: skip
    train = _raw(datasets.load_dataset(str(out), "default", split="train"))
    assert sorted(train["id"]) == [f"mine/train{i}" for i in range(4)]
    mask = np.asarray(Image.open(io.BytesIO(train[0]["mask"]["bytes"])))
    assert set(np.unique(mask)) == {0, 255}  # 0/1 masks read as binary
    val = datasets.load_dataset(str(out), "mine", split="val")
    assert sorted(val["id"]) == ["mine/val0", "mine/val1"]
    card = (out / "README.md").read_text()
    assert "## Added sources" in card and "CC BY 4.0" in card and f"folder:{tmp_path}" in card


def test_instance_masks_give_one_record_per_id(tmp_path):
    truth = instance_folder(tmp_path / "objs")
    out, stats = _build(tmp_path, f"folder:{tmp_path / 'objs'}?mask_type=instances")
    _check_conservation(stats, "objs", truth)
    train = _raw(datasets.load_dataset(str(out), "default", split="train"))
    assert sorted(train["id"]) == ["objs/im0/1", "objs/im0/2", "objs/im1/1", "objs/im1/2"]
    for rec in train:
        mask = np.asarray(Image.open(io.BytesIO(rec["mask"]["bytes"])))
        expected = (4, 4, 20, 20) if rec["id"].endswith("/1") else (30, 20, 60, 44)
        ys, xs = np.nonzero(mask)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == expected
    assert [(r["path"], r["reason"]) for r in _csv(out / "rejects.csv")] == [
        ("masks/blank.png", "empty-mask")
    ]


def test_coco_source_alone(tmp_path):
    truth = coco_dataset(tmp_path / "coco")
    spec = f"coco:{tmp_path / 'coco' / 'annotations.json'}:{tmp_path / 'coco' / 'images'}"
    out, stats = _build(tmp_path, spec + "?name=shapes")
    _check_conservation(stats, "shapes", truth)
    train = _raw(datasets.load_dataset(str(out), "default", split="train"))
    assert {i.split("/", 1)[1] for i in train["id"]} == truth["ids"]
    by_id = {r["id"]: np.asarray(Image.open(io.BytesIO(r["mask"]["bytes"]))) for r in train}
    assert (by_id["shapes/img1/2"] > 0).sum() == 40 * 30  # RLE square 10..50 x 10..40
    assert (by_id["shapes/img2/3"] > 0).sum() == 25 * 25  # uncompressed RLE
    reasons = {}
    for r in _csv(out / "rejects.csv"):
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        assert r["path"].startswith("annotations.json#annotation=")
    assert reasons == truth["rejects"]


def test_hf_dataset_alone_keeps_grey_mattes(tmp_path):
    truth = hf_dataset(tmp_path / "hfset")
    out, stats = _build(tmp_path, f"hf:{tmp_path / 'hfset'}")
    _check_conservation(stats, "hfset", truth)
    assert stats["hfset_train"] == 3 and stats["hfset_validation"] == 2
    train = _raw(datasets.load_dataset(str(out), "default", split="train"))
    assert sorted(train["id"]) == ["hfset/train/pic0", "hfset/train/pic1", "hfset/train/pic2"]
    mask = np.asarray(Image.open(io.BytesIO(train[0]["mask"]["bytes"])))
    assert set(np.unique(mask)) == {0, 90, 200}


def test_hf_split_and_columns_from_the_spec(tmp_path):
    hf_dataset(tmp_path / "hfset")
    out, stats = _build(
        tmp_path, f"hf:{tmp_path / 'hfset'}::validation?mask=label&train=validation"
    )
    assert stats["total_train"] == 2 and "hfset_train" not in stats


def test_cli_build_with_two_licences_and_dvc_style_params(tmp_path):
    folder_dataset(tmp_path / "mine")
    coco_dataset(tmp_path / "coco")
    params = tmp_path / "params.yaml"
    params.write_text(
        "custom:\n"
        f"  - spec: coco:{tmp_path / 'coco' / 'annotations.json'}\n"
        "    name: shapes\n    licence: CC0\n"
        f"    path: {tmp_path / 'coco'}\n"
    )
    args = ["build", "--preset", "none", "--normalized", str(tmp_path / "n"), "--raw-dir",
            str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--workers", "1",
            "--add", f"folder:{tmp_path / 'mine'}", "--licence", "MIT",
            "--custom-from", str(params)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert set(stats["conservation"]) == {"mine", "shapes"}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| `mine` | folder |" in card and "| MIT |" in card and "| CC0 |" in card
    # unchanged input: the normalised copy is reused (same files, same mtimes)
    before = (tmp_path / "custom" / "mine" / "summary.json").stat().st_mtime_ns
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (tmp_path / "custom" / "mine" / "summary.json").stat().st_mtime_ns == before


def test_changed_folder_is_normalised_again(tmp_path):
    folder_dataset(tmp_path / "mine")
    _, stats = _build(tmp_path, f"folder:{tmp_path / 'mine'}")
    (tmp_path / "mine" / "train" / "images" / "lonely.jpg").unlink()
    _, again = _build(tmp_path, f"folder:{tmp_path / 'mine'}")
    assert again["conservation"]["mine"]["rejects"] == stats["conservation"]["mine"]["rejects"] - 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "builds only added sources: give --add"),
        (["--add", "zip:/x"], "KIND:LOCATION"),
        (["--add", "folder:/no/such/dir"], "is not a folder"),
        (["--add", "folder:{d}/mine", "--add", "folder:{d}/mine"], "used twice"),
        (["--add", "folder:{d}/mine?name=ecssd"], "is a public source"),
        (
            ["--add", "folder:{d}/mine", "--licence", "A", "--licence", "B", "--licence", "C"],
            "once per --add",
        ),
        (["--add", "folder:{d}/mine?colour=red"], "unknown option"),
        (["--add", "coco:{d}/dup.json"], "appears twice"),
        (["--add", "hf:{d}/nomask"], "no mask column found"),
        (["--add", "folder:{d}/mine?mask_type=blob"], "mask_type must be one of"),
        (["--add", "folder:{d}/mine/train/images"], "no image/mask pair found"),
    ],
)
def test_bad_custom_input_is_one_clear_error(tmp_path, extra, message):
    import datasets as ds

    folder_dataset(tmp_path / "mine")
    (tmp_path / "dup.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}] * 2,
        "annotations": []}))  # fmt: skip
    feats = ds.Features({"image": ds.Image(), "caption": ds.Value("string")})
    ds.Dataset.from_dict({"image": [Image.new("RGB", (8, 8))], "caption": ["x"]},
                         features=feats).save_to_disk(str(tmp_path / "nomask"))  # fmt: skip
    args = [
        "build",
        "--preset",
        "none",
        "--normalized",
        str(tmp_path / "n"),
        "--raw-dir",
        str(tmp_path / "raw"),
        "--out",
        str(tmp_path / "out"),
        "--workers",
        "1",
    ]
    args += [a.format(d=tmp_path) for a in extra]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_folder_same_folder_with_list_files(tmp_path):
    from build_helpers import photo, save
    from custom_data import SIZE, square

    root = tmp_path / "flat"
    for i in range(4):
        save(photo(900 + i, SIZE), root / f"p{i}.jpg", quality=92)
        save(square(5, 5, 30, 30), root / f"p{i}_mask.png")
    (root / "train.txt").write_text("p0.jpg\np1\r\n")
    (root / "val.txt").write_text("p2_mask.png\nnope\n")
    out, stats = _build(tmp_path, f"folder:{root}")
    assert stats["flat_train"] == 2 and stats["flat_val"] == 1
    reasons = sorted((r["path"].rsplit("/", 1)[-1], r["reason"]) for r in _csv(out / "rejects.csv"))
    assert reasons == [("p3.jpg", "not-listed"), ("val.txt:nope", "list-entry-missing")]
    row = stats["conservation"]["flat"]
    assert row["inputs"] == row["records"] + row["rejects"] == 5


def test_folder_globs_and_explicit_suffix(tmp_path):
    from build_helpers import photo, save
    from custom_data import SIZE, square

    root = tmp_path / "globbed"
    for i in range(3):
        save(photo(950 + i, SIZE), root / "photos" / "set" / f"x{i}.jpg", quality=92)
        save(square(5, 5, 30, 30, 180), root / "labels" / "set" / f"x{i}_gt.png")
    spec = f"folder:{root}?images=photos/*/*.jpg&masks=labels/*/*.png&mask_suffix=_gt&name=g"
    out, stats = _build(tmp_path, spec)
    assert stats["g_train"] == 3
    ids = sorted(datasets.load_dataset(str(out), "default", split="train")["id"])
    assert ids == ["g/set/x0", "g/set/x1", "g/set/x2"]
