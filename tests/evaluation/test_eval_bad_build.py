"""`hqseg eval hq` on a folder that is not a (sound) build: one-line error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hqseg.cli import main


def _empty(folder: Path) -> Path:
    empty = folder.parent / "empty"
    empty.mkdir()
    return empty


def _deleted_shard(folder: Path) -> Path:
    (folder / "hq_eval" / "dis_vd.parquet").unlink()
    return folder


def _truncated_shard(folder: Path) -> Path:
    shard = folder / "hq_eval" / "dis_vd.parquet"
    shard.write_bytes(shard.read_bytes()[:300])
    return folder


def _garbage_card(folder: Path) -> Path:
    (folder / "README.md").write_text("not a card\n")
    return folder


def _bad_yaml_card(folder: Path) -> Path:
    (folder / "README.md").write_text("---\nconfigs: [\n---\n")
    return folder


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_empty, "is not a hqseg build folder (no README.md card)"),
        (_deleted_shard, "dis_vd.parquet is missing; rebuild with `hqseg build`"),
        (_truncated_shard, "dis_vd.parquet corrupt or truncated"),
        (_garbage_card, "README.md: damaged dataset card (card has no YAML front matter)"),
        (_bad_yaml_card, "README.md: damaged dataset card"),
    ],
)
def test_eval_hq_on_a_damaged_build_folder_is_a_clear_error(
    build_folder, tmp_path, fake_predictor, monkeypatch, damage, message
):
    monkeypatch.setattr("hqseg.evaluation.predict.load_predictor", lambda *a, **k: fake_predictor)
    data = damage(build_folder)
    res = CliRunner().invoke(
        main, ["eval", "hq", "--data", str(data), "--out", str(tmp_path / "o"), "--no-progress",
               "--random-weights"]
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    # the start-up line (model, weights, data), when the model loaded first, then one error
    lines = [x for x in res.output.strip().splitlines() if not x.startswith("model ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "o" / "metrics.json").exists()


@pytest.mark.parametrize("command", [["eval", "hq"], ["eval", "coco-sample"]])
def test_out_that_is_a_file_is_refused_and_kept(build_folder, tmp_path, command):
    out = tmp_path / "notes.txt"
    out.write_text("keep me\n")
    extra = ["--data", str(build_folder)] if command[1] == "hq" else []
    res = CliRunner().invoke(main, [*command, *extra, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "is a file" in res.output and "Traceback" not in res.output
    assert out.read_text() == "keep me\n"
