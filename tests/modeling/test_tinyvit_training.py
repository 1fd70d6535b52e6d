"""`hqseg train` on the Light HQ-SAM line (test_tinyvit) with the embedded sample."""

from __future__ import annotations

import math

import pytest
import torch

from hqseg.modeling import build_hq_sam, build_plain_sam
from hqseg.training.config import TrainConfig
from hqseg.training.loop import train

FAST = {"model_type": "test_tinyvit", "batch_size": 1, "loss_points": 512, "device": "cpu"}


@pytest.fixture(scope="module")
def data(built):
    return built("official", "drop")[1]


@pytest.fixture(scope="module")
def mobile_sam(tmp_path_factory):
    """A MobileSAM-layout base checkpoint of test_tinyvit (segment_anything's Sam keys).

    TinyViT's own init (Linear weights with std 0.02) makes a random encoder's features
    nearly vanish; Linear layers get a fan-in scaled init so the features carry the image.
    """
    torch.manual_seed(0)
    base = build_plain_sam("test_tinyvit")
    for module in base.image_encoder.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, 0.0, 1.0 / math.sqrt(module.in_features))
    path = tmp_path_factory.mktemp("base") / "mobile_sam.pt"
    torch.save(base.state_dict(), path)
    return path


@pytest.mark.slow
def test_tinyvit_trains_hq_only_and_exports_official_layout(data, mobile_sam, tmp_path):
    """Runs from a MobileSAM-layout checkpoint; only the HQ parameters change.

    Not checked here: that the loss falls / held-out mIoU rises. On this random
    test_tinyvit it does not (see the report); test_vit's run checks learning.
    """
    config = TrainConfig(
        **FAST,
        validate=False,
        data=str(data),
        checkpoint=str(mobile_sam),
        out=str(tmp_path / "run"),
        limit_train_samples=1,
        epochs=2,
        prompt_types=["box"],
    )
    result = train(config, progress=False)
    assert all(math.isfinite(loss) for _, loss in result.losses) and len(result.losses) == 2
    official = tmp_path / "run" / "sam_hq_test_tinyvit.pth"
    model = build_hq_sam("test_tinyvit", checkpoint=official)
    assert model.load_report.kind == "hq"
    fresh = build_hq_sam("test_tinyvit", checkpoint=mobile_sam).state_dict()
    trained = torch.load(official, weights_only=True)
    hq = set(model.hq_parameter_names())
    assert len(hq) == 25
    assert all(torch.equal(trained[k], fresh[k]) for k in fresh if k not in hq)
    assert any(not torch.equal(trained[k], fresh[k]) for k in hq)


@pytest.mark.slow
def test_tinyvit_resumes(data, tmp_path, capsys):
    settings = dict(
        **FAST,
        validate=False,
        data=str(data),
        out=str(tmp_path / "run"),
        limit_train_samples=2,
        epochs=2,
        checkpoint_every=1,
    )
    train(TrainConfig(**settings, max_steps=1), progress=False)
    result = train(TrainConfig(**settings, max_steps=2), resume="auto", progress=False)
    assert "resuming from" in capsys.readouterr().out
    assert result.steps == 2
    assert (tmp_path / "run" / "sam_hq_test_tinyvit.pth").is_file()
