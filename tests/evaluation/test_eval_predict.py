"""BoxPrompter decodes through the predictor's public predict_boxes_multi: the same
masks as predict_boxes per mask type, from one encoding."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import assert_close_f32

from hqseg.evaluation.predict import BoxPrompter, load_predictor


@pytest.mark.slow
@pytest.mark.parametrize("resize_mode", ["square", "longest_side"])
def test_prompter_matches_predict_boxes_per_type(resize_mode):
    predictor = load_predictor("test_vit", device="cpu", resize_mode=resize_mode)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (70, 110, 3), dtype=np.uint8)
    boxes = np.array([[5, 6, 60, 50], [30, 10, 100, 69]], np.float32)
    got = BoxPrompter(predictor)(image, boxes, ("hq", "sam"))
    for mask_type in ("hq", "sam"):
        logits, scores, _ = predictor.predict_boxes(boxes, mask_type=mask_type, return_logits=True)
        assert got[mask_type]["masks"].shape == (2, 70, 110)
        np.testing.assert_array_equal(got[mask_type]["masks"], logits > 0)
        assert_close_f32(got[mask_type]["scores"], scores)
    assert not np.array_equal(got["hq"]["masks"], got["sam"]["masks"])
