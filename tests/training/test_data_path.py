"""The uint8 crop-first data path against the previous float resize-then-crop path.

The reference below is the previous implementation (flip the whole image, antialiased
float resize of the whole image, crop, pad). Where the recipe's rules are
deterministic (flip, scale, crop window, pad geometry, the prompt type) the new path
must agree exactly; resampled pixels must agree statistically.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hqseg.training.augment import IMAGE_PAD, SIZE, large_scale_jitter
from hqseg.training.prompts import sample_prompt, tight_box


def _reference_jitter(image, mask, rng, *, scale_min, scale_max, flip_prob, max_tries=10):
    def resize(x, size):
        if tuple(x.shape[-2:]) == size:
            return x
        shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
        return F.interpolate(x[None], size=size, mode="bilinear", antialias=shrink)[0]

    img = torch.from_numpy(image.copy()).permute(2, 0, 1).float()
    msk = torch.from_numpy(mask.copy()).float()[None] / 255.0
    if rng.random() < flip_prob:
        img, msk = img.flip(-1), msk.flip(-1)
    h, w = img.shape[-2:]
    for attempt in range(max_tries + 1):
        last = attempt == max_tries
        scale = 1.0 if last else rng.uniform(scale_min, scale_max)
        factor = scale * SIZE / max(h, w)
        sh, sw = max(1, round(h * factor)), max(1, round(w * factor))
        ch, cw = min(SIZE, sh), min(SIZE, sw)
        top = int(rng.integers(0, sh - ch + 1))
        left = int(rng.integers(0, sw - cw + 1))
        scaled_mask = resize(msk, (sh, sw))[:, top : top + ch, left : left + cw]
        if last or bool((scaled_mask > 0.5).any()):
            break
    scaled_img = resize(img, (sh, sw))[:, top : top + ch, left : left + cw]
    out_img = torch.full((3, SIZE, SIZE), float(IMAGE_PAD))
    out_img[:, :ch, :cw] = scaled_img
    out_mask = torch.zeros((1, SIZE, SIZE))
    out_mask[:, :ch, :cw] = scaled_mask.clamp(0, 1)
    return out_img.round().clamp(0, 255).to(torch.uint8), out_mask, (ch, cw)


def _scene(h: int, w: int, seed: int):
    """A textured image and a mask with a blob, a thin line and soft edges."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack(
        [(xx * 255 // w), (yy * 255 // h), g.integers(0, 256, (h, w))], axis=-1
    ).astype(np.uint8)
    cy, cx, r = h * 0.45, w * 0.6, min(h, w) * 0.25
    mask = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.float32) * 255
    mask[:, int(w * 0.2) : int(w * 0.2) + 3] = 255  # thin vertical structure
    mask = np.clip(mask, 0, 255).astype(np.uint8)
    return image, mask


@pytest.mark.parametrize(("h", "w"), [(150, 220), (600, 400)])
def test_new_path_agrees_with_the_previous_one(h, w):
    image, mask = _scene(h, w, 0)
    kw = {"scale_min": 0.1, "scale_max": 2.0, "flip_prob": 0.5}
    pixel_diffs, ious = [], []
    for seed in range(8):
        rng_new, rng_old = np.random.default_rng(seed), np.random.default_rng(seed)
        new = large_scale_jitter(image, mask, rng_new, **kw)
        old_img, old_mask, old_valid = _reference_jitter(image, mask, rng_old, **kw)
        # deterministic rules: the same draws give the same window and pad geometry ...
        assert new.valid == old_valid
        ch, cw = new.valid
        assert (new.image[:, ch:] == IMAGE_PAD).all() and (new.image[:, :, cw:] == IMAGE_PAD).all()
        assert (new.mask[:, ch:] == 0).all() and (new.mask[:, :, cw:] == 0).all()
        assert new.image.dtype == new.mask.dtype == torch.uint8
        # ... and the rng is left in the same state, so the prompt draws are the same too
        p_new = sample_prompt(new.mask.float() / 255, rng_new)
        p_old = sample_prompt(old_mask, rng_old)
        assert p_new.kind == p_old.kind
        box_new, box_old = tight_box(new.mask.float() / 255), tight_box(old_mask)
        assert (box_new - box_old).abs().max() <= 1.0, (seed, box_new, box_old)
        # resampled content: statistically the same
        a = new.image[:, :ch, :cw].float()
        b = old_img[:, :ch, :cw].float()
        pixel_diffs.append((a - b).abs().mean().item())
        fg_new, fg_old = new.mask[0] > 127, old_mask[0] > 0.5
        union = (fg_new | fg_old).sum().item()
        ious.append((fg_new & fg_old).sum().item() / union if union else 1.0)
    assert np.mean(pixel_diffs) < 4.0, pixel_diffs  # grey levels, on a noisy texture
    assert min(ious) > 0.9 and np.mean(ious) > 0.97, ious


def test_enlarging_is_the_previous_bilinear_resample():
    image, mask = _scene(300, 200, 1)
    kw = {"scale_min": 1.5, "scale_max": 2.0, "flip_prob": 0.5}
    for seed in range(4):
        new = large_scale_jitter(image, mask, np.random.default_rng(seed), **kw)
        old_img, old_mask, _ = _reference_jitter(image, mask, np.random.default_rng(seed), **kw)
        diff = (new.image.int() - old_img.int()).abs()
        assert diff.max() <= 3 and diff.float().mean() < 0.6
        assert (new.mask.float() / 255 - old_mask).abs().max() <= 3 / 255 + 1e-6


def test_scale_distribution_is_the_recipes():
    image, mask = _scene(100, 100, 2)
    mask[:] = 255  # every first try has foreground
    sides = [
        max(large_scale_jitter(image, mask, np.random.default_rng(s)).valid) for s in range(200)
    ]
    # long side = min(1024, round(1024 * U(0.1, 2))): P(cropped to 1024) = (2 - 1) / 1.9
    full = np.mean([s == SIZE for s in sides])
    assert abs(full - 1 / 1.9) < 0.1 and min(sides) >= 100
