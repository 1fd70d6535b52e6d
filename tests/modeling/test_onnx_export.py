"""ONNX export of prompt encoder + HQ decoder: onnxruntime equals the torch decoder."""

import numpy as np
import onnxruntime as ort  # test dependency: must fail if missing
import pytest
import torch
from click.testing import CliRunner
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.cli import main
from hqseg.modeling import build_hq_sam
from hqseg.modeling.onnx_export import export_onnx


@pytest.fixture(scope="module", params=["test_vit", "test_tinyvit"])
def exported(request, tmp_path_factory, perturb):
    torch.manual_seed(0)
    model = perturb(build_hq_sam(request.param), seed=6).eval()
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    export_onnx(model, path)
    return model, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _features(model):
    gen = torch.Generator().manual_seed(7)
    emb = torch.randn(1, 256, 64, 64, generator=gen)
    early = torch.randn(1, 64, 64, model.mask_decoder.vit_dim, generator=gen)
    return emb, early


def _run(session, emb, early, coords, labels, mask=None):
    feeds = {
        "image_embeddings": emb.numpy(),
        "interm_embeddings": early.numpy(),
        "point_coords": np.asarray(coords, np.float32)[None],
        "point_labels": np.asarray(labels, np.float32)[None],
        "mask_input": np.zeros((1, 1, 256, 256), np.float32) if mask is None else mask.numpy(),
        "has_mask_input": np.array([0.0 if mask is None else 1.0], np.float32),
    }
    hq, total, iou = session.run(["masks_hq", "masks_sum", "iou_predictions"], feeds)
    return torch.from_numpy(hq), torch.from_numpy(total), torch.from_numpy(iou)


@pytest.mark.parametrize(
    ("coords", "labels"),
    [
        # a box = two corner points labelled 2 / 3 (SAM's ONNX convention)
        ([[100.0, 120.0], [600.0, 900.0]], [2, 3]),
        # points need a padding point (label -1) when there is no box, as SAM adds one
        ([[300.0, 400.0], [0.0, 0.0]], [1, -1]),
        ([[300.0, 400.0], [50.0, 60.0], [700.0, 20.0], [0.0, 0.0]], [1, 0, 1, -1]),
    ],
    ids=["box", "1-point", "3-points"],
)
def test_onnxruntime_equals_torch(exported, coords, labels):
    model, session = exported
    emb, early = _features(model)
    got_hq, got_sum, got_iou = _run(session, emb, early, coords, labels)
    kwargs = {}
    if labels[0] == 2:
        kwargs["boxes"] = torch.tensor([coords[0] + coords[1]])
    else:
        n = labels.index(-1)
        kwargs["point_coords"] = torch.tensor([coords[:n]])
        kwargs["point_labels"] = torch.tensor([labels[:n]])
    with torch.no_grad():
        want_hq, want_iou = model.decode(emb, early, hq_token_only=True, **kwargs)
        want_sum, _ = model.decode(emb, early, hq_token_only=False, **kwargs)
    assert got_hq.shape == got_sum.shape == (1, 1, 256, 256)
    assert_close_f32(got_hq, want_hq, RTOL32_OTHER_KERNELS)
    assert_close_f32(got_sum, want_sum, RTOL32_OTHER_KERNELS)
    assert_close_f32(got_iou, want_iou, RTOL32_OTHER_KERNELS)
    assert not torch.allclose(got_hq, got_sum, atol=1e-3)


def test_mask_input_is_used(exported):
    model, session = exported
    emb, early = _features(model)
    mask = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(8))
    got_hq, _, _ = _run(session, emb, early, [[300.0, 400.0], [0.0, 0.0]], [1, -1], mask)
    with torch.no_grad():
        want, _ = model.decode(
            emb,
            early,
            point_coords=torch.tensor([[[300.0, 400.0]]]),
            point_labels=torch.tensor([[1]]),
            mask_inputs=mask,
            hq_token_only=True,
        )
    assert_close_f32(got_hq, want, RTOL32_OTHER_KERNELS)


def test_cli_export_onnx(tmp_path, tiny_model, tiny_checkpoint):
    out = tmp_path / "decoder.onnx"
    result = CliRunner().invoke(
        main, ["export", str(tiny_checkpoint), "--format", "onnx", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "onnx format" in result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()][:2] == ["image_embeddings", "interm_embeddings"]
    assert session.get_inputs()[2].shape[1] == "num_points"


def test_multimask_export_equals_torch(tmp_path, perturb):
    """``--multimask-output``: SAM's part of both outputs is its best multimask token."""
    torch.manual_seed(0)
    model = perturb(build_hq_sam("test_vit"), seed=6).eval()
    path = tmp_path / "multimask.onnx"
    export_onnx(model, path, multimask_output=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    emb, early = _features(model)
    got_hq, got_sum, got_iou = _run(session, emb, early, [[300.0, 400.0], [0.0, 0.0]], [1, -1])
    prompts = {
        "point_coords": torch.tensor([[[300.0, 400.0]]]),
        "point_labels": torch.tensor([[1]]),
    }
    with torch.no_grad():
        want_hq, want_iou = model.decode(
            emb, early, multimask_output=True, hq_token_only=True, **prompts
        )
        want_sum, _ = model.decode(emb, early, multimask_output=True, **prompts)
    assert_close_f32(got_hq, want_hq, RTOL32_OTHER_KERNELS)
    assert_close_f32(got_sum, want_sum, RTOL32_OTHER_KERNELS)
    assert_close_f32(got_iou, want_iou, RTOL32_OTHER_KERNELS)
