"""params.yaml: ``lr: 1e-4`` is a number for every reader (issue 17, item 8).

YAML 1.1 (PyYAML) reads ``1e-4`` as a string; DVC (YAML 1.2) and users read a number.
``hqseg train --params`` and ``pipelines/params.py`` must agree with DVC.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.training.config import TrainConfig, load_params
from pipelines.params import section


@pytest.mark.parametrize(
    ("text", "value"), [("1e-4", 1e-4), ("1E-4", 1e-4), ("5e-05", 5e-5), ("1.0e-3", 1e-3),
                        (".5e-3", 5e-4), ("+2e-4", 2e-4), ("0.001", 1e-3)]
)  # fmt: skip
def test_exponent_floats_are_numbers_in_both_readers(tmp_path, text, value):
    path = tmp_path / "params.yaml"
    path.write_text(f"train:\n  lr: {text}\n  lr_gamma: {text}\n")
    config = TrainConfig.from_dict(load_params(path), source=str(path))
    assert config.lr == value and config.lr_gamma == value  # the float YAML 1.2 reads
    assert section("train", path) == {"lr": value, "lr_gamma": value}


def test_train_accepts_lr_1e_4_from_params(tmp_path):
    """The run gets past the settings (it stops at its missing data, not at ``lr``)."""
    path = tmp_path / "params.yaml"
    path.write_text(f"train:\n  lr: 1e-4\n  data: {tmp_path / 'none'}\n  out: {tmp_path / 'r'}\n"
                    "  model_type: test_vit\n")
    res = CliRunner().invoke(main, ["train", "--params", str(path), "--no-progress"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "does not exist" in res.output and "must be a number" not in res.output


def test_an_integer_setting_given_as_1e3_is_still_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  max_steps: 1e3\n")
    res = CliRunner().invoke(main, ["train", "--params", str(path), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "setting 'max_steps' must be an integer, got 1000.0" in res.output


def test_quoted_exponent_stays_a_string(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("sample:\n  out: '1e-4'\n")
    assert section("sample", path) == {"out": "1e-4"}
