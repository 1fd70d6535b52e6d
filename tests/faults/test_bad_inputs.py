"""Inputs that used to hang, crash or escape: FIFOs, huge declared sizes, bad COCO fields.

Each runs the CLI in a child process under a timeout (:mod:`fault_helpers`), so a
regression fails instead of hanging the suite, and a segfault shows as rc 139.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
sys.path.insert(0, str(Path(__file__).parent))
from build_helpers import blob, ecssd_raw, photo, save  # noqa: E402
from fault_helpers import assert_one_line_error, run_cli, tree  # noqa: E402

SQUARE = [[2, 2, 20, 2, 20, 20, 2, 20]]


def _rejects(out: Path, name: str) -> dict[str, str]:
    with open(out / name / "rejects.csv", newline="") as fh:
        return {row["path"]: row["reason"] for row in csv.DictReader(fh)}


def _folder(root: Path) -> Path:
    """``root/src/{images,masks}`` with two good pairs and a FIFO as an image and a mask."""
    src = root / "src"
    for i in range(2):
        save(photo(i), src / "images" / f"a{i}.jpg", quality=90)
        save(blob(), src / "masks" / f"a{i}.png")
    save(photo(7), src / "images" / "b.jpg", quality=90)
    os.mkfifo(src / "images" / "pipe.jpg")
    os.mkfifo(src / "masks" / "b.png")
    save(blob(), src / "masks" / "pipe.png")
    return src


def test_a_fifo_in_a_folder_source_is_a_listed_reject_not_a_hang(tmp_path):
    src = _folder(tmp_path)
    before = tree(tmp_path)
    rc, output = run_cli(["normalize", f"folder:{src}", "--out", "out", "--workers", "1"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0 and "Traceback" not in output, output
    assert _rejects(tmp_path / "out", "src") == {
        "images/pipe.jpg": "special-file",
        "masks/b.png": "special-file",
    }
    assert json.loads((tmp_path / "out" / "src" / "summary.json").read_text())["records"] == 2
    # nothing left behind: no lock, no temporary folder, nothing outside --out
    assert tree(tmp_path, skip=(tmp_path / "out",)) == before | {"tmp"}
    assert not any((tmp_path / "tmp").iterdir())


def test_a_fifo_in_a_download_from_folder_is_a_listed_reject(tmp_path):
    src = ecssd_raw(tmp_path / "dl", 2)
    os.mkfifo(src / "images" / "0009.jpg")
    rc, output = run_cli(["download", "ecssd", "--from", src, "--raw-dir", "raw", "--quiet"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0 and "Traceback" not in output, output
    manifest = json.loads((tmp_path / "raw" / "ecssd" / ".hqseg" / "download.json").read_text())
    assert [(r["path"].rsplit("/", 2)[-2:], r["reason"]) for r in manifest["rejects"]] == [
        (["images", "0009.jpg"], "special-file")
    ]
    assert not (tmp_path / "raw" / "ecssd" / "images" / "0009.jpg").exists()


def _coco(root: Path, image: dict, segmentation=None) -> Path:
    """``root/ann.json`` with one image entry (``image`` overrides) and one annotation."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    save(photo(3, (32, 32)), root / "images" / "a.jpg", quality=90)
    entry = {"id": 1, "file_name": "a.jpg", "height": 32, "width": 32} | image
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 18, 18], "area": 324,
           "iscrowd": 0, "segmentation": segmentation or SQUARE}  # fmt: skip
    doc = {"images": [entry], "annotations": [ann], "categories": [{"id": 1, "name": "x"}]}
    (root / "ann.json").write_text(json.dumps(doc))
    return root / "ann.json"


BAD_COCO = {
    "huge": ({"height": 10**9, "width": 10**9}, None, "too-large"),
    "height-string": ({"height": "x"}, None, "bad-image-entry"),
    "width-bool": ({"width": True}, None, "bad-image-entry"),
    "file-name-int": ({"file_name": 123}, None, "bad-image-entry"),
    "file-name-absolute": ({"file_name": "/etc/hostname"}, None, "unsafe-path"),
    "file-name-dotdot": ({"file_name": "../outside.jpg"}, None, "unsafe-path"),
    "rle-negative": ({}, {"size": [32, 32], "counts": [-5, 1029]}, "bad-segmentation"),
    "rle-too-long": ({}, {"size": [32, 32], "counts": [0, 2000]}, "bad-segmentation"),
    "rle-string-short": ({}, {"size": [32, 32], "counts": "0"}, "bad-segmentation"),
    "rle-size-int": ({}, {"size": 32, "counts": [1024]}, "bad-segmentation"),
}


@pytest.mark.parametrize("case", sorted(BAD_COCO))
def test_bad_coco_fields_are_listed_rejects(tmp_path, case):
    image, segmentation, reason = BAD_COCO[case]
    save(photo(4, (32, 32)), tmp_path / "outside.jpg", quality=90)  # what `..` would reach
    ann = _coco(tmp_path / "c", image, segmentation)
    rc, output = run_cli(["normalize", f"coco:{ann}", "--out", "out", "--workers", "1"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0 and "Traceback" not in output, output
    assert list(_rejects(tmp_path / "out", "ann").values()) == [reason], output
    assert json.loads((tmp_path / "out" / "ann" / "summary.json").read_text())["records"] == 0


def test_a_huge_declared_size_in_eval_hq_benchmark_is_one_clear_error(tmp_path):
    ann = _coco(tmp_path / "c", {"height": 10**9, "width": 10**9})
    rc, output = run_cli(["eval", "hq", "--benchmark", f"coco:{ann}", "--model-type", "test_vit",
                          "--device", "cpu", "--out", "ev", "--no-progress"],
                         tmp_path, timeout=300)  # fmt: skip
    assert_one_line_error(rc, output, "no usable image/mask pair")
    assert not (tmp_path / "ev").exists()


def test_the_good_coco_annotation_still_makes_a_record(tmp_path):
    """The checks above refuse only what is wrong (a guard against refusing everything)."""
    ann = _coco(tmp_path / "c", {}, {"size": [32, 32], "counts": [64, 18, 942]})
    rc, output = run_cli(["normalize", f"coco:{ann}", "--out", "out", "--workers", "1"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0, output
    summary = json.loads((tmp_path / "out" / "ann" / "summary.json").read_text())
    assert summary["records"] == 1, output


@pytest.mark.parametrize("levels", ["soft", "two"])
def test_folder_auto_reads_an_rgba_matte_through_its_alpha(tmp_path, levels):
    """White colour everywhere, the matte in alpha: the one mask rule reads the alpha
    (it used to be read as object ids in mask_type=auto, all non-zero: full-mask)."""
    import io

    import pandas as pd
    from PIL import Image

    alpha = np.zeros((30, 40), np.uint8)
    alpha[8:22, 10:30] = 255
    if levels == "soft":
        alpha[7, 10:30] = 90  # an anti-aliased edge below the threshold
    rgba = np.dstack([np.full((30, 40, 3), 255, np.uint8), alpha])
    src = tmp_path / "src"
    save(photo(1), src / "images" / "m.jpg", quality=90)
    (src / "masks").mkdir()
    Image.fromarray(rgba, "RGBA").save(src / "masks" / "m.png")
    rc, output = run_cli(["normalize", f"folder:{src}", "--out", "out", "--workers", "1"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0, output
    assert not _rejects(tmp_path / "out", "src"), output
    shard = next((tmp_path / "out" / "src").glob("train-*.parquet"))
    mask = pd.read_parquet(shard)["mask"].iloc[0]["bytes"]
    grey = np.asarray(Image.open(io.BytesIO(mask)))
    np.testing.assert_array_equal(grey > 128, alpha > 128)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` (8-bit grey) but holds no pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_a_mask_declaring_a_huge_size_is_a_listed_reject(tmp_path):
    """Pillow refuses it at open (DecompressionBombError), which the auto mask-type
    sampling did not catch: a traceback."""
    src = tmp_path / "src"
    save(photo(1), src / "images" / "a.jpg", quality=90)
    save(np.where(blob() == 255, 255, 0).astype(np.uint8), src / "masks" / "a.png")  # binary:
    save(photo(2), src / "images" / "b.jpg", quality=90)  # the sampling goes on to b.png
    (src / "masks" / "b.png").write_bytes(_png_header(60_000, 60_000))
    rc, output = run_cli(["normalize", f"folder:{src}", "--out", "out", "--workers", "1"],
                         tmp_path, timeout=120)  # fmt: skip
    assert rc == 0 and "Traceback" not in output, output
    assert _rejects(tmp_path / "out", "src") == {"masks/b.png": "unreadable-mask"}
