"""`hqseg train` on the HQ-SAM 2 line (test_hiera) on the embedded sample: it learns,
resumes exactly, and exports the authors' ``{"model": ...}`` layout that loads back."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hqseg.modeling.sam2_hq import build_hq_sam2
from hqseg.training.config import TrainConfig
from hqseg.training.loop import train

FAST = {
    "model_type": "test_hiera",
    "batch_size": 1,
    "loss_points": 512,
    "validate": False,
    "device": "cpu",
    "flip_prob": 0.0,
    "scale_min": 1.0,
    "scale_max": 1.0,
}


@pytest.fixture(scope="module")
def data(built) -> Path:
    return built("official", "drop")[1]


@pytest.mark.slow
def test_hq_sam2_learns_loss_falls_and_heldout_miou_rises(data, tmp_path):
    # One image and box prompts: every step sees the same batch, so the loss must fall.
    config = TrainConfig(
        **{**FAST, "validate": True, "val_limit": 2},
        data=str(data),
        out=str(tmp_path / "run"),
        limit_train_samples=1,
        epochs=6,
        val_every=6,  # before and after: what the assertions read
        prompt_types=["box"],
    )
    result = train(config, progress=False)
    losses = [loss for _, loss in result.losses]
    assert len(losses) == 6
    assert losses[-1] < 0.6 * losses[0], losses
    assert result.val_after["mIoU"] > result.val_before["mIoU"] + 10, (
        result.val_before,
        result.val_after,
    )


@pytest.mark.slow
def test_hq_sam2_resumes_exactly_and_exports_the_official_layout(data, tmp_path):
    # One image per epoch: the resumed run restarts at the epoch boundary, past a StepLR drop.
    settings = {**FAST, "data": str(data), "limit_train_samples": 1, "lr_drop_epoch": 1}
    whole = train(TrainConfig(**settings, epochs=2, out=str(tmp_path / "a")), progress=False)
    train(TrainConfig(**settings, epochs=1, out=str(tmp_path / "b")), progress=False)
    train(TrainConfig(**settings, epochs=2, out=str(tmp_path / "b")), resume="auto", progress=False)
    a = torch.load(tmp_path / "a" / "hq_only.pth", weights_only=True)
    b = torch.load(tmp_path / "b" / "hq_only.pth", weights_only=True)
    assert len(a) == 13 and a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert len(whole.losses) == 2

    exported = tmp_path / "a" / "sam_hq_test_hiera.pth"
    payload = torch.load(exported, weights_only=True)
    assert set(payload) == {"model"}
    model = build_hq_sam2("test_hiera", checkpoint=exported)
    assert model.load_report.kind == "hq"
    state = model.state_dict()
    for name, value in a.items():
        assert torch.equal(state[name], value), name
