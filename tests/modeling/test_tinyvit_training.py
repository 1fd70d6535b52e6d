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


def _train_images(data, n: int) -> torch.Tensor:
    """``[n, 3, 1024, 1024]`` the first ``n`` training images, unaugmented, as raw pixels."""
    from hqseg.training.data import HQTrainDataset, open_train_records

    config = TrainConfig(**FAST, data=str(data), limit_train_samples=n, flip_prob=0.0,
                         scale_min=1.0, scale_max=1.0)  # fmt: skip
    dataset = HQTrainDataset(open_train_records(config), config=config)
    return torch.stack([dataset[0, i]["image"] for i in range(len(dataset))]).float()


@pytest.fixture(scope="module")
def mobile_sam(data, tmp_path_factory):
    """A MobileSAM-layout base checkpoint of test_tinyvit (segment_anything's Sam keys).

    A random TinyViT as its authors initialise it carries almost nothing of the image to
    the early feature the HQ decoder reads. Its BatchNorms hold the statistics of no data
    (running mean 0, var 1), so in eval mode (the frozen encoder) every Conv2d_BN with
    PyTorch's default conv init shrinks its input (~1/sqrt(3) per conv, GELU halves small
    values), and the Linear layers (std 0.02) shrink it further: the stage-1 feature is
    ~5e-4, far below the biases of the HQ decoder's ``compress_vit_feat``, so the HQ output
    cannot follow the image and held-out mIoU falls to 0 in training. A trained MobileSAM
    has BatchNorm statistics of real activations; this base gets the same conditioning:
    fan-in scaled Linear weights, then BatchNorm statistics measured (no labels) on the
    first training images. The base stays frozen in training, as in the recipe.
    """
    torch.manual_seed(0)
    base = build_plain_sam("test_tinyvit")
    encoder = base.image_encoder
    for module in encoder.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, 0.0, 1.0 / math.sqrt(module.in_features))
        elif isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batch
    encoder.train()
    with torch.no_grad():
        encoder(base.preprocess(_train_images(data, 4)))
    encoder.eval()
    path = tmp_path_factory.mktemp("base") / "mobile_sam.pt"
    torch.save(base.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def learned(data, mobile_sam, tmp_path_factory):
    """One run from the MobileSAM-layout base: one image, no jitter, box prompts, so
    every step sees the same batch; validated through the HQ protocol before and after."""
    out = tmp_path_factory.mktemp("tinyvit") / "run"
    config = TrainConfig(
        **FAST,
        validate=True,
        val_limit=2,
        data=str(data),
        checkpoint=str(mobile_sam),
        out=str(out),
        limit_train_samples=1,
        epochs=8,
        val_every=8,  # before and after: what the assertions read
        flip_prob=0.0,
        scale_min=1.0,
        scale_max=1.0,
        prompt_types=["box"],
    )
    return train(config, progress=False), out


@pytest.mark.slow
def test_tinyvit_learns_loss_falls_and_heldout_miou_rises(learned):
    result, _ = learned
    losses = [loss for _, loss in result.losses]
    assert len(losses) == 8 and all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < 0.6 * losses[0], losses
    assert result.val_after["mIoU"] > result.val_before["mIoU"] + 10, (
        result.val_before,
        result.val_after,
    )


@pytest.mark.slow
def test_tinyvit_trains_hq_only_and_exports_official_layout(learned, mobile_sam):
    """Runs from a MobileSAM-layout checkpoint; only the HQ parameters change."""
    _, out = learned
    official = out / "sam_hq_test_tinyvit.pth"
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
