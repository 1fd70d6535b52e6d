"""``hqseg build --exclude FILE``: the curation loop's exclude list, through the CLI."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.data.records import load_split


def _csv(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(built, sample_raw):
    """(build folder, its stats, normalised dir, raw dir) of the sample, official/drop."""
    _, out = built("official", "drop")
    stats = json.loads((out / "stats.json").read_text())
    return out, stats, out.parent / "normalized", sample_raw[1]


def _build(base, out, *extra):
    _, _, normalized, raw = base
    args = ["build", "--normalized", str(normalized), "--raw-dir", str(raw), "--out", str(out),
            "--workers", "1", *extra]  # fmt: skip
    return CliRunner().invoke(main, args)


def _ids(out, source, split):
    return load_split(out, source, split)["id"]


def _suspects(out, n=5):
    """(id, source, split) of ``n`` records of different sources that are in no duplicate
    group (so excluding them changes nothing else), as audit.csv rows would name them."""
    grouped = {i for r in _csv(out / "duplicates.csv") for i in (r["id"], r["kept_id"])}
    stats = json.loads((out / "stats.json").read_text())
    picked = []
    for source in ("dis5k", "fss1000", "ecssd", "msra10k", "duts", "hrsod", "thinobject5k"):
        split = next(k[len(source) + 1 :] for k in stats if k.startswith(f"{source}_"))
        rid = next(i for i in _ids(out, source, split) if i not in grouped)
        picked.append((rid, source, split))
    return picked[:n]


def test_exclude_round_trip_audit_shaped_csv(base, tmp_path):
    """Exclude 5 records with audit.csv's columns; conservation, card and data show them."""
    out0, stats0, _, _ = base
    suspects = _suspects(out0)
    lines = ["id,source,split,score,rank,reasons,sig_edges"]
    for rank, (rid, source, split) in enumerate(suspects, start=1):
        reasons = f'"shifted mask | rank {rank}"'
        lines.append(f"{rid},{source},{split},{1 - rank / 10},{rank},{reasons},0.5")
    exclude = _write(tmp_path / "top5.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out"
    res = _build(base, out, "--exclude", str(exclude))
    assert res.exit_code == 0, res.output
    stats = json.loads((out / "stats.json").read_text())

    assert stats["excluded"] == 5 and stats0["excluded"] == 0
    assert stats["records"] == stats0["records"] - 5
    for source, row in stats["conservation"].items():
        assert row["inputs"] == row["records"] + row["rejects"] + row["dropped"] + row["excluded"]
        n = sum(s == source for _, s, _ in suspects)
        assert row["excluded"] == n, source
        assert row["records"] == stats0["conservation"][source]["records"] - n, source
        assert row["dropped"] == stats0["conservation"][source]["dropped"], source
    for rid, source, split in suspects:
        assert rid not in _ids(out, source, split)

    listed = {r["id"]: r for r in _csv(out / "excluded.csv")}
    assert set(listed) == {rid for rid, _, _ in suspects}
    rid, source, split = suspects[0]
    assert listed[rid] == {"id": rid, "source": source, "split": split,
                           "reason": "shifted mask | rank 1"}  # fmt: skip
    card = (out / "README.md").read_text()
    section = card.split("## Excluded records", 1)[1].split("\n## ", 1)[0]
    assert "5 record(s) were left out" in section and "top5.csv" in section
    for rank, (rid, source, split) in enumerate(suspects, start=1):
        assert f"| `{rid}` | {split} | shifted mask \\| rank {rank} |" in section
        assert f"| {source} | shifted mask \\| rank {rank} | 1 |" in section


def test_exclude_id_and_reason_columns_and_empty_list(base, tmp_path):
    out0, stats0, _, _ = base
    (rid, source, _), = _suspects(out0, 1)
    exclude = _write(tmp_path / "x.csv", f"\ufeffid,reason\n{rid},  label of another\n\n")
    res = _build(base, tmp_path / "a", "--exclude", str(exclude))
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "a" / "stats.json").read_text())["conservation"][source][
        "excluded"] == 1  # fmt: skip
    assert _csv(tmp_path / "a" / "excluded.csv")[0]["reason"] == "label of another"
    # a header alone excludes nothing: the same records as without --exclude
    res = _build(base, tmp_path / "b", "--exclude", str(_write(tmp_path / "e.csv", "id,reason\n")))
    assert res.exit_code == 0, res.output
    stats = json.loads((tmp_path / "b" / "stats.json").read_text())
    assert stats["excluded"] == 0 and stats["records"] == stats0["records"]
    assert "## Excluded records" not in (tmp_path / "b" / "README.md").read_text()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("id,reason\nnot_a_source/x,bad\necssd/nope,bad\n", "2 id(s) to exclude are not records"),
        ("name,reason\necssd/0001,bad\n", "needs an `id` column"),
        ("", "(empty file)"),
        ("id,reason\necssd/0001,bad,extra\n", "line 2 has 3 fields, the header has 2"),
        ('id,reason\n"ecssd/0001,bad\n', "malformed CSV"),
        ("id,reason\n,bad\n", "line 2 has an empty id"),
        ("id\necssd/a\necssd/a\n", "listed twice (lines 2 and 3)"),
        (b"id\n\xff\xfe\n", "cannot read the exclude list"),
    ],
)
def test_bad_exclude_lists_are_one_line_errors(base, tmp_path, text, needle):
    path = tmp_path / "x.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out"
    res = _build(base, out, "--exclude", str(path))
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()
    if "not records" in needle:  # the unknown ids are named
        assert "not_a_source/x" in res.output and "ecssd/nope" in res.output


def test_missing_exclude_file_is_an_error(base, tmp_path):
    res = _build(base, tmp_path / "out", "--exclude", str(tmp_path / "nope.csv"))
    assert res.exit_code == 2 and "nope.csv: cannot read the exclude list" in res.output
