"""`hqseg train` on bad input: one-line error, exit 2, nothing trained."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hqseg.cli import main

TINY = [
    "--model-type", "test_vit", "--max-steps", "1", "--batch-size", "1", "--loss-points", "256",
    "--no-validate", "--device", "cpu", "--no-progress",
]  # fmt: skip


def _train(tmp_path, *args):
    res = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "run"), *TINY, *args])
    assert res.exit_code == 2, res.output
    # one error line, after the start-up line when the model was built before the failure
    lines = [x for x in res.output.splitlines() if not x.startswith("model test_vit | ")]
    assert "Traceback" not in res.output and lines[0].startswith("error: "), res.output
    assert not (tmp_path / "run" / "summary.json").exists()
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (None, "is not a hqseg build folder (no README.md card)"),
        ("a card someone overwrote\n", "damaged dataset card (card has no YAML front matter)"),
        ("---\nconfigs: [\n---\n", "damaged dataset card"),
        ("---\npretty_name: x\n---\n", "has no `configs:` list"),
    ],
)
def test_train_on_a_folder_that_is_not_a_build(tmp_path, card, message):
    data = tmp_path / "data"
    data.mkdir()
    if card is not None:  # without the card's configs, datasets would guess the splits
        (data / "README.md").write_text(card)
    assert message in _train(tmp_path, "--data", str(data))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("train:\n  epochs: abc\n", "setting 'epochs' must be an integer, got 'abc'"),
        ("train:\n  flip_prob: yes\n", "setting 'flip_prob' must be a number, got True"),
        ("train:\n  prompt_types: box\n", "setting 'prompt_types' must be a list of strings"),
        ("train:\n  bogus: 1\n", "unknown training setting(s) ['bogus']"),
        ("train: [\n", "not valid YAML"),
    ],
)
def test_train_params_file_with_a_bad_setting(tmp_path, params, message):
    path = tmp_path / "params.yaml"
    path.write_text(params)
    output = _train(tmp_path, "--params", str(path))
    assert f"error: {path}: " in output and message in output
    assert len(output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("train:\n  lr: .nan\n", "lr must be finite, got nan"),
        ("train:\n  scale_max: .inf\n", "scale_max must be finite, got inf"),
        ("train:\n  lr_gamma: -.inf\n", "lr_gamma must be finite, got -inf"),
    ],
)
def test_train_params_with_non_finite_values_are_refused(tmp_path, params, message):
    path = tmp_path / "params.yaml"
    path.write_text(params)
    assert message in _train(tmp_path, "--params", str(path))


def test_train_on_a_bad_device(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        assert "CUDA is not available" in _train(tmp_path, "--device", "cuda:3")
    # not a device name at all: refused by the option itself, before anything loads
    res = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "run"), "--device", "gpu7"])
    assert res.exit_code == 2 and "'gpu7' is not a device" in res.output, res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"PK\x03\x04" + b"\0" * 64])
def test_train_resume_from_a_corrupt_file_is_one_line(build_folder, tmp_path, content):
    path = tmp_path / "last.pt"
    path.write_bytes(content)
    output = _train(tmp_path, "--data", str(build_folder), "--resume", str(path))
    assert f"error: {path}: not a readable torch checkpoint" in output
    assert len(output.strip().splitlines()) == 1


def test_train_in_a_git_dvc_repo_without_commits_logs(build_folder, tmp_path, monkeypatch):
    """A `git init` + `dvc init` folder with no commit yet must not abort training."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from dvc.repo import Repo

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    Repo.init(str(repo)).close()
    monkeypatch.chdir(repo)
    res = CliRunner().invoke(main, ["train", "--data", str(build_folder), "--out", "run", *TINY])
    assert res.exit_code == 0, res.output
    assert (repo / "run" / "dvclive" / "metrics.json").is_file()
    assert (repo / "run" / "summary.json").is_file()


def test_train_out_that_is_a_file_is_refused_and_kept(build_folder, tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("keep me\n")
    res = CliRunner().invoke(main, ["train", "--data", str(build_folder), *TINY, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert f"error: --out {out} is a file, not a run folder" in res.output
    assert out.read_text() == "keep me\n"
