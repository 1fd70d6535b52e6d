"""The recipe's pieces: augmentation, prompts, point sampling, loss, settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerances import assert_close_f32

from hqseg.training.augment import IMAGE_PAD, SIZE, large_scale_jitter
from hqseg.training.config import ConfigError, TrainConfig
from hqseg.training.losses import dice_loss, point_sampled_mask_loss
from hqseg.training.point_sampling import point_sample, uncertain_points
from hqseg.training.prompts import (
    foreground_points,
    incoherent_band,
    noise_mask,
    sample_prompt,
    tight_box,
)


def _pair(h=60, w=90):
    image = np.full((h, w, 3), 200, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[10:40, 20:50] = 255
    return image, mask


def test_jitter_output_frame_and_padding():
    image, mask = _pair()
    out = large_scale_jitter(image, mask, np.random.default_rng(0), scale_min=0.5, scale_max=0.5)
    assert out.image.shape == (3, SIZE, SIZE) and out.image.dtype == torch.uint8
    assert out.mask.shape == (1, SIZE, SIZE)
    h, w = out.valid
    assert (h, w) == (round(60 * 512 / 90), 512)  # long side = 0.5 * 1024
    assert (out.image[:, h:, :] == IMAGE_PAD).all() and (out.image[:, :, w:] == IMAGE_PAD).all()
    assert (out.mask[:, h:, :] == 0).all() and (out.mask[:, :, w:] == 0).all()
    assert (out.image[:, :h, :w] == 200).all()


def test_jitter_crops_large_scales_and_keeps_foreground():
    image, mask = _pair()
    for seed in range(5):
        out = large_scale_jitter(image, mask, np.random.default_rng(seed), scale_min=2.0)
        assert out.valid == (SIZE, SIZE)  # 2048 long side cropped to 1024
        assert (out.mask > 0.5).any()


def test_jitter_is_a_function_of_the_generator_and_flip_mirrors():
    image, mask = _pair()
    mask[:, :45] = 0  # asymmetric
    a = large_scale_jitter(image, mask, np.random.default_rng(3), scale_min=1, scale_max=1)
    b = large_scale_jitter(image, mask, np.random.default_rng(3), scale_min=1, scale_max=1)
    assert torch.equal(a.mask, b.mask) and torch.equal(a.image, b.image)
    plain = large_scale_jitter(
        image, mask, np.random.default_rng(0), scale_min=1, scale_max=1, flip_prob=0.0
    )
    flipped = large_scale_jitter(
        image, mask, np.random.default_rng(0), scale_min=1, scale_max=1, flip_prob=1.0
    )
    h, w = plain.valid
    # mask values in [0, 1] resized the same way, mirrored: float32 rounding at scale 1
    assert_close_f32(flipped.mask[:, :h, :w], plain.mask[:, :h, :w].flip(-1))


def test_tight_box_and_points_lie_on_foreground():
    mask = torch.zeros(1, 100, 100)
    mask[0, 20:30, 40:70] = 1.0
    assert tight_box(mask).tolist() == [40, 20, 69, 29]
    pts = foreground_points(mask, np.random.default_rng(0), 10)
    assert pts.shape == (10, 2)
    assert all(mask[0, int(y), int(x)] == 1 for x, y in pts.tolist())
    assert len({tuple(p) for p in pts.tolist()}) == 10  # distinct when enough pixels
    tiny = torch.zeros(1, 10, 10)
    tiny[0, 5, 5] = 1
    assert foreground_points(tiny, np.random.default_rng(0), 10).tolist() == [[5, 5]] * 10


def test_noise_mask_changes_only_the_incoherent_band():
    mask = torch.zeros(1, 512, 512)
    mask[0, 100:400, 150:350] = 1.0
    band = incoherent_band(torch.nn.functional.interpolate(mask[None], size=(256, 256))[0])
    prompt = noise_mask(mask, np.random.default_rng(0))
    assert prompt.shape == (1, 256, 256) and set(prompt.unique().tolist()) <= {0.0, 255.0}
    clean = (
        torch.nn.functional.interpolate(mask[None], size=(256, 256), mode="bilinear")[0] > 0.5
    ).float() * 255
    assert torch.equal(prompt[~band], clean[~band])
    assert not torch.equal(prompt[band], clean[band])  # the noise does something in the band
    assert band.float().mean() < 0.2


def test_prompt_types_are_all_drawn():
    mask = torch.zeros(1, 64, 64)
    mask[0, 10:50, 10:50] = 1
    kinds = {sample_prompt(mask, np.random.default_rng(s)).kind for s in range(30)}
    assert kinds == {0, 1, 2}
    with pytest.raises(ValueError):
        sample_prompt(mask, np.random.default_rng(0), types=("scribble",))


def test_point_sample_reads_pixel_centres():
    maps = torch.arange(16.0).reshape(1, 1, 4, 4)
    pts = torch.tensor([[[0.125, 0.125], [0.875, 0.375]]])  # centres of (x0,y0) and (x3,y1)
    assert point_sample(maps, pts)[0, 0].tolist() == [0.0, 7.0]


def test_uncertain_points_prefer_the_decision_boundary():
    logits = torch.full((1, 1, 64, 64), 10.0)
    logits[..., 32:] = -10.0
    logits[..., 31:33] = 0.0  # boundary columns
    g = torch.Generator().manual_seed(0)
    pts = uncertain_points(
        logits, num_points=8, oversample_ratio=40, importance_ratio=1.0, generator=g
    )
    xs = pts[0, :, 0] * 64
    assert ((xs > 30.5) & (xs < 33.5)).all()  # ~5% of 320 candidates lie there


def test_loss_small_for_confident_correct_and_large_for_wrong():
    target = torch.zeros(2, 1, 1024, 1024)
    target[:, :, 200:800, 300:700] = 1
    good = (torch.nn.functional.interpolate(target, size=(256, 256)) * 2 - 1) * 20
    g = torch.Generator().manual_seed(0)
    ok = point_sampled_mask_loss(good, target, num_points=2048, generator=g)
    bad = point_sampled_mask_loss(-good, target, num_points=2048, generator=g)
    assert ok.total < 0.2 < 1.5 < bad.total
    assert torch.isclose(ok.total, ok.bce + ok.dice)


def test_dice_uses_plus_one_smoothing():
    logits = torch.full((1, 4), -100.0)
    assert dice_loss(logits, torch.zeros(1, 4)).item() == pytest.approx(0.0)
    assert dice_loss(logits, torch.ones(1, 4)).item() == pytest.approx(1 - 1 / 5)


def test_defaults_are_the_official_recipe_and_bad_settings_are_named():
    c = TrainConfig()
    assert (c.lr, c.epochs, c.lr_drop_epoch, c.batch_size, c.loss_points) == (
        1e-3,
        12,
        10,
        4,
        12544,
    )
    assert (c.oversample_ratio, c.importance_ratio, c.scale_min, c.scale_max) == (3, 0.75, 0.1, 2)
    with pytest.raises(ConfigError, match="unknown training setting"):
        TrainConfig.from_dict({"learning_rate": 1})
    with pytest.raises(ConfigError, match="importance_ratio"):
        TrainConfig(importance_ratio=2)
