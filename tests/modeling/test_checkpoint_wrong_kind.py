"""A training checkpoint or an HQ-only file where model weights are expected: say which."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.modeling.model_types import line_for


def _export(path, tmp_path):
    res = CliRunner().invoke(main, ["export", str(path), "--out", str(tmp_path / "out.pth")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.pth").exists()
    return res.output


def test_training_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"format": "hqseg-train-checkpoint-v1", "hq": {}, "position": {}}, path)
    assert "a training checkpoint (for `hqseg train --resume`)" in _export(path, tmp_path)


@pytest.mark.parametrize("model_type", ["test_vit", "test_hiera"])
def test_hq_only_weights_are_named_as_such(tmp_path, model_type):
    path = tmp_path / "hq_only.pth"
    prefixes = line_for(model_type).hq_prefixes
    torch.save({f"{prefix}weight": torch.zeros(2) for prefix in prefixes}, path)
    assert "holds only the HQ parameters" in _export(path, tmp_path)
