"""Single signals on hand-made records: what each must see, and what it must not."""

import cv2
import numpy as np
import pytest

from hqseg.curation.audit import Scored, duplicate_signal, score_pair
from hqseg.curation.signals import SkipRecord


def _scene(thin: bool = False):
    """A textured grey background with a red object (a disk, or a 3 px wide stroke)."""
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(100, 6, (200, 240, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((200, 240), np.uint8)
    if thin:
        cv2.line(mask, (30, 40), (210, 160), 255, 3)
    else:
        cv2.circle(mask, (120, 100), 50, 255, -1)
    img[mask > 0] = (200, 40, 40)
    return img, mask


def test_exact_masks_score_low_thin_ones_included():
    for thin in (False, True):
        score, signals = score_pair(*_scene(thin))
        assert score < 0.1, (thin, signals)


def test_each_planted_error_raises_its_own_signal():
    img, mask = _scene()
    grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    assert score_pair(img, grown)[1]["offset"] > 0.3
    assert score_pair(img, 255 - mask)[1]["border"] == 1.0
    blob = mask.copy()
    cv2.circle(blob, (30, 30), 15, 255, -1)
    assert score_pair(img, blob)[1]["pieces"] > 0.9
    for wrong in (grown, 255 - mask, blob):
        assert score_pair(img, wrong)[0] > 0.5


@pytest.mark.parametrize("value", [0, 128, 255])
def test_a_mask_of_one_value_is_a_skip_with_the_reason(value):
    img, mask = _scene()
    with pytest.raises(SkipRecord, match=f"mask is all one value \\({value}\\)"):
        score_pair(img, np.full_like(mask, value))


def test_near_duplicates_with_disagreeing_masks():
    full, half = np.ones(256, bool), np.r_[np.ones(128, bool), np.zeros(128, bool)]
    scored = [
        Scored("a", "s", "train", phash=0x0F0F, thumb=np.packbits(full).tobytes()),
        Scored("b", "s", "train", phash=0x0F0E, thumb=np.packbits(half).tobytes()),  # 1 bit off
        Scored("c", "s", "train", phash=~0x0F0F & (2**64 - 1), thumb=np.packbits(full).tobytes()),
    ]
    duplicate_signal(scored, threshold=6)
    assert [s.signals["duplicate"] for s in scored] == [0.5, 0.5, 0.0]
