"""The normalize / build / publish commands through the CLI shell."""

from __future__ import annotations

from build_helpers import ecssd_raw
from click.testing import CliRunner

from hqseg.cli import main


def test_normalize_build_and_publish_dry_run(tmp_path):
    ecssd_raw(tmp_path / "raw", 3)
    runner = CliRunner()
    res = runner.invoke(main, ["normalize", "ecssd", "--raw-dir", str(tmp_path / "raw"),
                               "--out", str(tmp_path / "n"), "--workers", "1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "ecssd: 3 records" in res.output
    out = tmp_path / "out"
    res = runner.invoke(main, ["build", "--normalized", str(tmp_path / "n"), "--raw-dir",
                               str(tmp_path / "raw"), "--out", str(out), "--allow-missing",
                               "--workers", "1", "--stats-out",
                               str(tmp_path / "m.json")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert '"total_train": 3' in res.output
    assert (tmp_path / "m.json").read_text() == (out / "stats.json").read_text()
    res = runner.invoke(main, ["publish", "--dir", str(out), "--repo-id", "me/hq", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "README.md" in res.output and "data/ecssd/train-00000-of-00001.parquet" in res.output
    assert "dry run: 6 files" in res.output and "LICENSE.md" in res.output


def test_user_errors_are_one_line(tmp_path, monkeypatch):
    runner = CliRunner()
    res = runner.invoke(main, ["build", "--raw-dir", str(tmp_path), "--normalized",
                               str(tmp_path / "n"), "--out", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["publish", "--dir", str(tmp_path), "--repo-id", "me/hq"])
    assert res.exit_code == 2 and "hqseg build" in res.output
    ecssd_raw(tmp_path / "raw", 2)
    runner.invoke(main, ["build", "--raw-dir", str(tmp_path / "raw"), "--normalized",
                         str(tmp_path / "n"), "--out", str(tmp_path / "o"), "--allow-missing",
                         "--workers", "1"])  # fmt: skip
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    res = runner.invoke(main, ["publish", "--dir", str(tmp_path / "o"), "--repo-id", "me/hq"])
    assert res.exit_code == 2 and "hf auth login" in res.output, res.output


def test_help_explains_every_option():
    for command in ("normalize", "build", "publish"):
        res = CliRunner().invoke(main, [command, "--help"])
        assert res.exit_code == 0
        assert "--workers" in res.output or command == "publish"


def test_corrupt_normalised_parquet_is_named(tmp_path):
    """A damaged hashes file or record shard in data/normalized is a one-line error naming it."""
    ecssd_raw(tmp_path / "raw", 3)
    runner = CliRunner()
    normalized = tmp_path / "n"
    args = ["build", "--raw-dir", str(tmp_path / "raw"), "--normalized", str(normalized),
            "--out", str(tmp_path / "o"), "--allow-missing", "--workers", "1"]  # fmt: skip
    assert runner.invoke(main, args).exit_code == 0
    for damaged in (normalized / "ecssd" / "hashes.parquet",
                    normalized / "ecssd" / "train-00000-of-00001.parquet"):  # fmt: skip
        good = damaged.read_bytes()
        damaged.write_bytes(good[: len(good) // 2])
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert str(damaged) in res.output and "corrupt or truncated" in res.output
        assert "Traceback" not in res.output
        damaged.write_bytes(good)
