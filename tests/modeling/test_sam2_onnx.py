"""ONNX export of HQ-SAM 2's prompt encoder + HQ decoder: onnxruntime equals
``HQSam2.decode`` (tiny ``test_hiera``, seeded perturbed weights)."""

import numpy as np
import onnxruntime as ort  # test dependency: must fail if missing
import pytest
import torch
from tolerances import RTOL32_OTHER_KERNELS, assert_close_f32

from hqseg.modeling import build_hq_sam, select_masks
from hqseg.modeling.onnx_export import export_onnx
from hqseg.modeling.sam2_hq import pack_high_res


@pytest.fixture(scope="module")
def model(perturb):
    torch.manual_seed(0)
    return perturb(build_hq_sam("test_hiera"), seed=11).eval()


def _export(model, tmp_path_factory, *, multimask_output):
    path = tmp_path_factory.mktemp("onnx") / "hq_sam2.onnx"
    export_onnx(model, path, multimask_output=multimask_output)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    path.unlink()
    return session


@pytest.fixture(scope="module")
def session(model, tmp_path_factory):
    """The default export (single mask)."""
    return _export(model, tmp_path_factory, multimask_output=False)


@pytest.fixture(scope="module")
def multimask_session(model, tmp_path_factory):
    return _export(model, tmp_path_factory, multimask_output=True)


@pytest.fixture(scope="module")
def features():
    """image_embed, feat_s0, feat_s1 of one image (random, seeded)."""
    gen = torch.Generator().manual_seed(7)
    return (
        torch.randn(1, 256, 64, 64, generator=gen),
        torch.randn(1, 32, 256, 256, generator=gen),
        torch.randn(1, 64, 128, 128, generator=gen),
    )


def _run(session, features, coords, labels, mask=None):
    emb, s0, s1 = features
    feeds = {
        "image_embed": emb.numpy(),
        "high_res_feats_0": s0.numpy(),
        "high_res_feats_1": s1.numpy(),
        "point_coords": np.asarray(coords, np.float32)[None],
        "point_labels": np.asarray(labels, np.float32)[None],
        "mask_input": np.zeros((1, 1, 256, 256), np.float32) if mask is None else mask.numpy(),
        "has_mask_input": np.array([0.0 if mask is None else 1.0], np.float32),
    }
    outs = session.run(["masks_hq", "masks_sum", "iou_predictions"], feeds)
    return [torch.from_numpy(o) for o in outs]


def _torch(model, features, prompts, *, multimask, mask=None):
    """``HQSam2.decode``'s outputs for ``hq_token_only`` True and False: one
    ``decode_all`` pass, then :func:`select_masks` (which is what ``decode`` does)."""
    emb, s0, s1 = features
    with torch.no_grad():
        masks, iou = model.decode_all(emb, pack_high_res(s0, s1), **prompts, mask_inputs=mask)
    hq, want_iou = select_masks(masks, iou, multimask_output=multimask, mask_type="hq")
    total, _ = select_masks(masks, iou, multimask_output=multimask, mask_type="sum")
    return hq, total, want_iou


def _check(got, want):
    """ONNX (masks_hq, masks_sum, iou_predictions) equal torch's."""
    assert got[0].shape == got[1].shape == (1, 1, 256, 256)
    assert got[2].shape == (1, 1)
    for g, w in zip(got, want, strict=True):
        assert_close_f32(g, w, RTOL32_OTHER_KERNELS)
    assert not torch.allclose(got[0], got[1], atol=1e-3)  # the HQ token is not inert


BOX = [[100.0, 120.0], [600.0, 900.0]]
CLICKS = [[300.0, 400.0], [50.0, 60.0], [700.0, 20.0], [512.0, 512.0], [1000.0, 3.0]]
CLICK_LABELS = [1, 0, 1, 1, 0]


def _prompts(n_clicks, box):
    """ONNX (coords, labels) and the same prompt as ``HQSam2.decode`` keywords."""
    coords, labels, kwargs = list(CLICKS[:n_clicks]), list(CLICK_LABELS[:n_clicks]), {}
    if n_clicks:
        kwargs = {
            "point_coords": torch.tensor([coords]),
            "point_labels": torch.tensor([labels]),
        }
    if box:  # SAM 2's box: two corner points (labels 2, 3) before the clicks
        coords, labels = BOX + coords, [2, 3] + labels
        kwargs["boxes"] = torch.tensor([BOX[0] + BOX[1]])
    return coords, labels, kwargs


@pytest.mark.parametrize(
    ("n_clicks", "box"),
    [(0, True), (1, False), (5, False), (2, True)],
    ids=["box", "1-point", "5-points", "box+2-points"],
)
def test_onnxruntime_equals_torch(session, model, features, n_clicks, box):
    """One exported file, several point counts (the dynamic axis)."""
    coords, labels, kwargs = _prompts(n_clicks, box)
    got = _run(session, features, coords, labels)
    _check(got, _torch(model, features, kwargs, multimask=False))


def test_mask_input_is_used(session, model, features):
    mask = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(8)) * 4
    coords, labels, kwargs = _prompts(1, True)
    got = _run(session, features, coords, labels, mask)
    _check(got, _torch(model, features, kwargs, multimask=False, mask=mask))
    without = _run(session, features, coords, labels)
    assert not torch.allclose(got[0], without[0], atol=1e-3)


@pytest.mark.parametrize("with_mask", [False, True], ids=["1-point", "box+mask"])
def test_multimask_export_equals_torch(multimask_session, model, features, with_mask):
    """``--multimask-output``: SAM's part is its best multimask token."""
    mask = None
    coords, labels, kwargs = _prompts(1, False)
    if with_mask:
        mask = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(9)) * 4
        coords, labels, kwargs = _prompts(0, True)
    got = _run(multimask_session, features, coords, labels, mask)
    _check(got, _torch(model, features, kwargs, multimask=True, mask=mask))


def test_graph_inputs_and_outputs(session):
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert inputs == {
        "image_embed": [1, 256, 64, 64],
        "high_res_feats_0": [1, 32, 256, 256],
        "high_res_feats_1": [1, 64, 128, 128],
        "point_coords": [1, "num_points", 2],
        "point_labels": [1, "num_points"],
        "mask_input": [1, 1, 256, 256],
        "has_mask_input": [1],
    }
    assert [o.name for o in session.get_outputs()] == [
        "masks_hq",
        "masks_sum",
        "iou_predictions",
    ]
