"""The model lines: one object per line behind every model type, the same initial
weights as before the line objects, and a checkpoint read once per command."""

from __future__ import annotations

import hashlib

import pytest
import torch
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.modeling import LINES, HQModel, build_hq_sam, line_for, line_of_model
from hqseg.modeling.model_types import LINE_INFO, MODEL_TYPES

# sha256 over (name, float32 bytes) of the state dict of each test type built after
# torch.manual_seed(0), computed with the builders before the line objects (fbfbd5f):
# building through the lines must not move the initialisation (runs/ and eval/ come
# from it).
INIT_SHA256 = {
    "test_vit": "b0503270746ee4640dcd49ba7bac4129428026d06ca0a5ebc9c29320f0243afc",
    "test_tinyvit": "68768525ff6279ed92a49550bb088d26b860af8d55dffd5c9e0add23b78d819d",
    "test_hiera": "1e61f8c16e9ce73f399a20912a134f5a2ea81e8805da0015f5adf648231071c7",
}


def _digest(state_dict: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name, value in state_dict.items():
        h.update(name.encode())
        h.update(value.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("model_type", sorted(INIT_SHA256))
def test_seeded_build_has_the_same_weights_as_before(model_type):
    torch.manual_seed(0)
    model = build_hq_sam(model_type)
    assert _digest(model.state_dict()) == INIT_SHA256[model_type]


def test_every_model_type_has_its_line_object():
    assert set(LINES) == set(LINE_INFO)
    for name, kind in MODEL_TYPES.items():
        line = line_for(name)
        assert line is LINES[kind.line] and name in line.model_types
    with pytest.warns(DeprecationWarning):
        assert line_for("tiny") is LINES["vit"]  # deprecated alias of test_vit
    with pytest.raises(ValueError, match="unknown model type"):
        line_for("vit_x")


@pytest.mark.parametrize(
    ("model_type", "n_hq"), [("test_vit", 25), ("test_tinyvit", 25), ("test_hiera", 13)]
)
def test_built_model_knows_its_line_and_hq_keys(model_type, n_hq):
    model = build_hq_sam(model_type)
    line = line_of_model(model)
    assert line is line_for(model_type) and model.model_type == model_type
    assert isinstance(model, HQModel)
    names = model.hq_parameter_names()
    assert len(names) == n_hq and all(n.startswith(line.hq_prefixes) for n in names)
    assert set(line.hq_state_dict(model)) == set(names)
    assert line.official_file_name(model_type).endswith((".pth", ".pt"))
    with pytest.raises(TypeError, match="not built by an hqseg model line"):
        line_of_model(torch.nn.Linear(1, 1))


def test_hq_state_round_trip_and_mismatch_is_one_checker():
    from hqseg.errors import CheckpointError

    torch.manual_seed(0)
    source, target = build_hq_sam("test_vit"), build_hq_sam("test_vit")
    line = source.line
    state = line.hq_state_dict(source)
    line.load_hq_state(target, state, source="state")
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in state.items())
    name = next(iter(state))
    bad = {**state, name: torch.zeros(1)}
    with pytest.raises(CheckpointError, match=rf"state: .*shape mismatch: {name} \(1,\)"):
        line.load_hq_state(target, bad, source="state")
    with pytest.raises(CheckpointError, match="missing"):
        line.load_hq_state(target, dict(list(state.items())[1:]), source="state")


@pytest.fixture
def count_loads(monkeypatch):
    """The paths torch.load is called with."""
    calls: list[str] = []
    real_load = torch.load

    def counting_load(path, *args, **kwargs):
        calls.append(str(path))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    return calls


@pytest.mark.slow
def test_eval_reads_the_checkpoint_once(tmp_path, tiny_checkpoint, count_loads):
    """eval coco with a checkpoint and no --model-type: one read gives the type for the
    provenance, the start-up line and the model."""
    import json

    from hqseg.sample.coco import write_coco_sample

    sample = write_coco_sample(tmp_path / "coco", seed=1)
    args = ["eval", "coco", "--annotations", str(sample["annotations"])]
    args += ["--images", str(sample["images"]), "--detections", str(sample["detections"])]
    args += ["--top-k", "1", "--limit", "1", "--checkpoint", str(tiny_checkpoint)]
    res = CliRunner().invoke(main, [*args, "--device", "cpu", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert count_loads.count(str(tiny_checkpoint)) == 1
    provenance = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert provenance["model_type"] == "test_vit"
    assert provenance["checkpoint"]["path"] == str(tiny_checkpoint)


def test_predict_reads_the_checkpoint_once(tmp_path, tiny_checkpoint, count_loads):
    import numpy as np
    from PIL import Image

    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(image)
    args = ["predict", str(image), "--checkpoint", str(tiny_checkpoint), "--box", "5,5,30,30"]
    res = CliRunner().invoke(main, [*args, "--device", "cpu", "--out", str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output
    assert count_loads.count(str(tiny_checkpoint)) == 1
