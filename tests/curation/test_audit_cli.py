"""`hqseg audit` on the embedded sample build: outputs, determinism, skips and bad input."""

import csv
import io
import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image

from hqseg.cli import main
from hqseg.curation.audit import SIGNALS

COLUMNS = ["id", "source", "split", "score", "rank", "reasons", *(f"sig_{s}" for s in SIGNALS)]


def _audit(*args):
    return CliRunner().invoke(main, ["audit", *map(str, args), "--workers", "2", "--no-progress"])


def _rows(folder):
    with open(folder / "audit.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _records(build):
    return {
        r["id"]: r["source"]
        for p in sorted((build / "data").rglob("*.parquet"))
        for r in pq.read_table(p, columns=["id", "source"]).to_pylist()
    }


@pytest.fixture(scope="module")
def sample_audit(built, tmp_path_factory):
    _, build = built("official", "drop")
    out = tmp_path_factory.mktemp("audit") / "audit"
    result = _audit(build, "--out", out)
    assert result.exit_code == 0, result.output
    return build, out, result.output


def test_one_row_per_record_with_the_documented_columns(sample_audit):
    build, out, output = sample_audit
    rows = _rows(out)
    assert list(rows[0]) == COLUMNS
    records = _records(build)
    assert sorted(r["id"] for r in rows) == sorted(records)  # every record once
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0 and max(scores) <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["records_scored"] == len(rows) and summary["records_skipped"] == 0
    above = sum(s >= summary["threshold"] for s in scores)
    assert summary["above_threshold"] == above
    assert sum(v["above_threshold"] for v in summary["per_source"].values()) == above
    assert f"{len(rows)} records scored" in output
    # The sample's masks are exact (its soft thin-object mattes included): few suspects.
    print(f"\nsample: {above} of {len(rows)} at or above {summary['threshold']}; top 3:")
    for r in rows[:3]:
        print(f"  {r['id']} {r['score']} {r['reasons']}")
    assert above <= 0.05 * len(rows)


def test_rerun_gives_the_same_bytes_and_one_worker_the_same_rows(sample_audit, tmp_path):
    build, out, _ = sample_audit
    first = (out / "audit.csv").read_bytes()
    assert _audit(build, "--out", out).exit_code == 0  # its own earlier output: replaced
    assert (out / "audit.csv").read_bytes() == first
    one = CliRunner().invoke(
        main, ["audit", str(build), "--out", str(tmp_path / "one"), "--workers", "1",
               "--no-progress"],
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one" / "audit.csv").read_bytes() == first


def test_source_filter_and_constant_mask_is_a_listed_skip(sample_audit, tmp_path):
    build, _, _ = sample_audit
    copy = tmp_path / "build"
    shutil.copytree(build, copy)
    shard = copy / "data" / "ecssd" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    rows = table.to_pylist()
    w, h = Image.open(io.BytesIO(rows[0]["mask"]["bytes"])).size
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w), 200, np.uint8)).save(buf, "PNG")
    rows[0]["mask"] = {"bytes": buf.getvalue(), "path": None}
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), shard)
    out = tmp_path / "out"
    result = _audit(copy, "--out", out, "--source", "ecssd")
    assert result.exit_code == 0, result.output
    assert {r["source"] for r in _rows(out)} == {"ecssd"}
    assert len(_rows(out)) == len(rows) - 1
    skipped = json.loads((out / "summary.json").read_text())["skipped"]
    assert skipped == [{"id": rows[0]["id"], "source": "ecssd", "split": "train",
                        "reason": "mask is all one value (200)"}]  # fmt: skip


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/nothing"], "is not a hqseg build folder"),
        (["{build}", "--config", "nope"], "no config 'nope'; the build has: default"),
        (["{build}", "--source", "nope"], "has no records of source nope"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(sample_audit, tmp_path, args, message):
    build, _, _ = sample_audit
    (tmp_path / "nothing").mkdir()
    out = tmp_path / "out"
    args = [a.format(tmp=tmp_path, build=build) for a in args]
    result = _audit(*args, "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_foreign_out_folder_is_refused(sample_audit, tmp_path):
    build, _, _ = sample_audit
    (tmp_path / "mine.txt").write_text("keep")
    result = _audit(build, "--out", tmp_path)
    assert result.exit_code == 2 and "mine.txt" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep"
