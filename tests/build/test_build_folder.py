"""Build folder rules on small hand-made sources: atomicity, missing sources, shards."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from build_helpers import ecssd_raw

from hqseg.data import build_outputs
from hqseg.data.build import build
from hqseg.data.normalize import normalize_source
from hqseg.data.shards import ShardWriter, list_shards, record_schema
from hqseg.errors import DatasetError


def test_missing_sources_are_a_clear_error(tmp_path):
    ecssd_raw(tmp_path / "raw", 3)
    with pytest.raises(DatasetError, match="dis5k.*allow-missing"):
        build("official", normalized_dir=tmp_path / "n", raw_dir=tmp_path / "raw",
              out=tmp_path / "out", workers=1, progress=False)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_allow_missing_builds_and_the_card_says_so(tmp_path):
    ecssd_raw(tmp_path / "raw", 3)
    stats = build("official", normalized_dir=tmp_path / "n", raw_dir=tmp_path / "raw",
                  out=tmp_path / "out", allow_missing=True, workers=1, progress=False)  # fmt: skip
    assert stats["total_train"] == 3 and stats["missing_sources"] == 7
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Missing sources" in card and "`dis5k`" in card
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == stats


def test_failed_build_keeps_the_previous_folder(tmp_path, monkeypatch):
    ecssd_raw(tmp_path / "raw", 3)
    kw = dict(normalized_dir=tmp_path / "n", raw_dir=tmp_path / "raw", out=tmp_path / "out",
              allow_missing=True, workers=1, progress=False)  # fmt: skip
    build("official", **kw)
    before = (tmp_path / "out" / "README.md").read_bytes()

    def boom(**_):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(build_outputs, "render_card", boom)
    with pytest.raises(RuntimeError):
        build("official", **kw)
    assert (tmp_path / "out" / "README.md").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_normalize_writes_shards_rejects_and_summary(tmp_path):
    src = ecssd_raw(tmp_path / "raw", 4)
    (src / "ground_truth_mask" / "0002.png").write_bytes(b"")
    (src / "images" / "0009.jpg").write_bytes((src / "images" / "0000.jpg").read_bytes())
    summary = normalize_source("ecssd", tmp_path / "raw", tmp_path / "n", workers=2,
                               progress=False)  # fmt: skip
    assert summary["splits"] == {"train": 3} and summary["rejects"] == 2
    assert summary["rejects_by_reason"] == {"mask-missing": 1, "unreadable-mask": 1}
    rejects = (tmp_path / "n" / "ecssd" / "rejects.csv").read_text().splitlines()
    assert rejects[0] == "path,reason,detail,source"
    assert any(line.startswith("ground_truth_mask/0002.png,unreadable-mask") for line in rejects)
    shards = list_shards(tmp_path / "n" / "ecssd", "train")
    ids = [r["id"] for s in shards for r in pq.read_table(s, columns=["id"]).to_pylist()]
    assert ids == ["ecssd/0000", "ecssd/0001", "ecssd/0003"]


def test_shard_writer_rotates_by_size_and_names_shards(tmp_path):
    schema = record_schema()
    row = {"id": "x", "source": "s", "split": "train", "width": 1, "height": 1,
           "image": {"bytes": b"a" * 1000, "path": None}, "mask": {"bytes": b"m", "path": None},
           "category": "", "sha256": ""}  # fmt: skip
    with ShardWriter(tmp_path, "train", schema, max_shard_bytes=2500, group_rows=1) as writer:
        for i in range(7):
            writer.write(dict(row, id=str(i)))
    names = [p.name for p in list_shards(tmp_path, "train")]
    assert names == [f"train-{i:05d}-of-00003.parquet" for i in range(3)]
    ids = [r for p in list_shards(tmp_path, "train") for r in pq.read_table(p)["id"].to_pylist()]
    assert ids == [str(i) for i in range(7)] and writer.num_rows == 7
    assert not list(tmp_path.glob(".*tmp"))


def test_size_mismatch_setting_renormalises_and_is_reported(tmp_path):
    from build_helpers import blob, save

    src = ecssd_raw(tmp_path / "raw", 3)
    save(blob(size=(20, 15)), src / "ground_truth_mask" / "0001.png")
    kw = dict(normalized_dir=tmp_path / "n", raw_dir=tmp_path / "raw", out=tmp_path / "out",
              allow_missing=True, workers=1, progress=False)  # fmt: skip
    assert build("official", **kw)["total_train"] == 2
    assert "size-mismatch" in (tmp_path / "out" / "rejects.csv").read_text()
    stats = build("official", size_mismatch="resize", **kw)
    assert stats["total_train"] == 3 and stats["resized_masks"] == 1 and stats["rejects"] == 0
    assert "resized" in (tmp_path / "out" / "README.md").read_text()
