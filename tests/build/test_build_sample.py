"""End to end on the embedded sample: counts, rejects, duplicates, loading, the card."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from hqseg.data.card import parse_front_matter

OFFICIAL_TRAIN = ["dis5k/train", "thinobject5k/train", "fss1000/train", "ecssd/train",
                  "msra10k/train", "duts/train", "duts/test"]  # fmt: skip


def _csv(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _raw(ds):
    return ds.cast_column("image", datasets.Image(decode=False)).cast_column(
        "mask", datasets.Image(decode=False)
    )


def test_counts_match_the_sample_truth(built):
    manifest, out = built("official", "keep")
    expected = manifest["pairs"]["original"]
    expected = {s: v for s, v in expected.items() if s != "dut_omron"}
    stats = json.loads((out / "stats.json").read_text())
    got = defaultdict(dict)
    for key, value in stats.items():
        source, _, split = key.rpartition("_")
        if source in expected:
            got[source][split] = value
    assert dict(got) == expected
    total = sum(expected[s][sp] for s, sp in (x.split("/") for x in OFFICIAL_TRAIN))
    assert stats["total_train"] == total
    assert len(datasets.load_dataset(str(out), "default", split="train")) == total


def test_every_planted_bad_file_is_rejected_with_its_reason(built):
    manifest, out = built("official", "keep")
    rows = {(r["source"], r["path"], r["reason"]) for r in _csv(out / "rejects.csv")}
    planted = [
        (source, p["file"], p["reason"])
        for source, problems in manifest["rejects"]["original"].items()
        if source != "dut_omron"
        for p in problems
    ]
    assert planted
    missing = [p for p in planted if p not in rows]
    assert not missing, f"planted rejects not reported: {missing}"


def test_planted_duplicates_and_leak_are_found_and_dropped(built):
    manifest, out = built("official", "drop")
    rows = _csv(out / "duplicates.csv")
    group_of = {r["id"]: r["group"] for r in rows}
    group_of |= {r["kept_id"]: r["group"] for r in rows}
    for dup in manifest["duplicates"]:
        assert dup["a"] in group_of and group_of[dup["a"]] == group_of.get(dup["b"]), dup
    leak = next(d for d in manifest["duplicates"] if d["kind"] == "leak")
    by_id = {r["id"]: r for r in rows}
    assert by_id[leak["a"]]["leak"] == "True" and by_id[leak["a"]]["action"] == "dropped"
    train_ids = set(datasets.load_dataset(str(out), "default", split="train")["id"])
    assert leak["a"] not in train_ids
    assert leak["b"] in datasets.load_dataset(str(out), "hq_eval", split="dis_vd")["id"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["leaks"] >= 1 and stats["dropped"] == sum(r["action"] == "dropped" for r in rows)


def test_load_dataset_gives_back_identical_bytes(built, sample_raw):
    _, out = built("official", "drop")
    _, raw = sample_raw
    ds = _raw(datasets.load_dataset(str(out), "ecssd", split="train"))
    assert len(ds) > 0
    for rec in ds:
        image = rec["image"]["bytes"]
        assert hashlib.sha256(image).hexdigest() == rec["sha256"]
        stem = rec["id"].split("/", 1)[1]
        assert image == (raw / "ecssd" / "images" / f"{stem}.jpg").read_bytes()
        assert (
            rec["mask"]["bytes"]
            == (raw / "ecssd" / "ground_truth_mask" / f"{stem}.png").read_bytes()
        )
    table = __import__("pyarrow.parquet", fromlist=["x"]).read_table(
        next((out / "data" / "ecssd").glob("train-*.parquet"))
    )
    assert table.column("image").to_pylist()[0]["bytes"] == ds[0]["image"]["bytes"]


def test_quirks_are_fixed_and_kept(built):
    manifest, out = built("official", "keep")
    kept = {k["id"]: k["quirk"] for k in manifest["kept"] if not k["id"].startswith("dut_omron")}
    ids = {}
    for config in (
        "dis5k",
        "thinobject5k",
        "fss1000",
        "ecssd",
        "msra10k",
        "duts",
        "coift",
        "hrsod",
    ):
        for split in datasets.load_dataset(str(out), config).values():
            for rec in _raw(split):
                ids[rec["id"]] = rec
    missing = sorted(set(kept) - set(ids))
    assert not missing, f"quirky pairs lost: {missing}"
    for rid, quirk in kept.items():
        rec = ids[rid]
        image = Image.open(io.BytesIO(rec["image"]["bytes"]))
        mask = Image.open(io.BytesIO(rec["mask"]["bytes"]))
        assert image.mode == "RGB" and mask.mode == "L" and mask.format == "PNG", rid
        assert image.size == mask.size == (rec["width"], rec["height"]), rid
        if "object-id-mask" in quirk:
            assert set(np.unique(np.asarray(mask))) == {0, 255}, rid


def test_card_parses_and_matches_the_folder(built):
    _, out = built("official", "drop")
    meta = parse_front_matter((out / "README.md").read_text())
    names = [c["config_name"] for c in meta["configs"]]
    assert names[0] == "default" and "hq_eval" in names and "dis5k" in names
    hq = next(c for c in meta["configs"] if c["config_name"] == "hq_eval")
    assert [d["split"] for d in hq["data_files"]] == ["dis_vd", "coift", "hrsod", "thin"]
    for info in meta["dataset_info"]:
        loaded = datasets.load_dataset(str(out), info["config_name"])
        assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
            k: len(v) for k, v in loaded.items()
        }
    body = (out / "README.md").read_text()
    for text in ("CC BY-NC 4.0", "DUTS-TE", "unsafe-path", "leaks", "Cite:"):
        assert text in body


def test_paper_preset_uses_dut_omron(built):
    manifest, out = built("paper", "keep")
    train = datasets.load_dataset(str(out), "default", split="train")
    sources = set(train["source"])
    assert "dut_omron" in sources and "duts" not in sources
    assert not (out / "data" / "duts").exists()
    assert len(train) == sum(
        v["train"] for s, v in manifest["pairs"]["original"].items()
        if s in {"dis5k", "thinobject5k", "fss1000", "ecssd", "msra10k", "dut_omron"}
    )  # fmt: skip


@pytest.mark.parametrize("preset", ["official"])
def test_rebuild_is_deterministic(built, preset, tmp_path, sample_raw):
    from hqseg.data.build import build

    _, out = built(preset, "drop")
    _, raw = sample_raw
    again = tmp_path / "again"
    build(preset, normalized_dir=out.parent / "normalized", raw_dir=raw, out=again,
          workers=1, progress=False)  # fmt: skip
    for name in ("README.md", "rejects.csv", "duplicates.csv", "stats.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_build_bytes_are_the_recorded_ones(built):
    """Every file of the sample's official build, shards included, is byte for byte the
    one recorded in official_sample.sha256 (recorded before the build was split into
    plan, dedup, assemble and card/stats steps). A deliberate change of the output
    records new digests: ``cd OUT && find . -type f ! -name '.*' -printf '%P\\n' | sort |
    xargs sha256sum``."""
    _, out = built("official", "drop")
    recorded = {}
    for line in (Path(__file__).parent / "official_sample.sha256").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        recorded[name] = digest
    actual = {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
    assert actual == recorded
