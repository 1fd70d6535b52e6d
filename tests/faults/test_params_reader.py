"""params.yaml has one reader (hqseg.utils.params_yaml) and one set of one-line errors,
whichever command reads it: ``hqseg train --params``, ``hqseg build --custom-from`` and
the ``pipelines/`` stages."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.utils.params_yaml import ParamsError, read_params, read_section
from pipelines import build as build_stage
from pipelines.params import section

BAD = [
    (None, "does not exist"),
    ("build: [\n", "not valid YAML"),
    ("- build\n", "must be a mapping of sections"),
    ("other: {}\n", "no 'build' section"),
    ("build: [1, 2]\n", "section 'build' must be a mapping"),
    ("build:\n  presett: official\n", "unknown key(s) ['presett' (did you mean 'preset'?)]"),
]


def _file(tmp_path, text):
    path = tmp_path / "params.yaml"
    if text is not None:
        path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), BAD)
def test_each_problem_has_its_message(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        read_section("build", path, known=build_stage.KEYS)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_pipeline_stage_exits_with_the_same_line(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(SystemExit) as info:
        section("build", path, known=build_stage.KEYS)
    assert str(info.value).startswith("error: ") and message in str(info.value)


@pytest.mark.parametrize(("text", "message"), [b for b in BAD if "unknown" not in b[1]])
def test_train_params_give_the_same_line(tmp_path, text, message):
    text = text and text.replace("build", "train")
    path = _file(tmp_path, text)
    res = CliRunner().invoke(main, ["train", "--params", str(path), "--no-progress"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert message.replace("build", "train") in res.output


def test_unknown_training_settings_use_the_same_wording(tmp_path):
    path = _file(tmp_path, "train:\n  lerning_rate: 0.1\n")
    res = CliRunner().invoke(main, ["train", "--params", str(path), "--no-progress"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"{path}: unknown training setting(s) ['lerning_rate'" in res.output


@pytest.mark.parametrize(("text", "message"), BAD[1:3])  # a missing file: click's own check
def test_build_custom_from_gives_the_same_line(tmp_path, text, message):
    path = _file(tmp_path, text)
    args = ["build", "--custom-from", str(path), "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert message in res.output


def test_an_empty_file_is_an_empty_mapping(tmp_path):
    assert read_params(_file(tmp_path, "")) == {}


def test_the_repository_params_pass_the_stage_key_lists():
    from pipelines import download as download_stage

    assert set(section("build", known=build_stage.KEYS)) <= set(build_stage.KEYS)
    assert set(section("download", known=download_stage.KEYS)) == set(download_stage.KEYS)
