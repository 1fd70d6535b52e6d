"""Fixtures for evaluation tests (256x256 images: the fake predictor is exact there)."""

from __future__ import annotations

import pytest
from evalfakes import FakePredictor, make_record, write_build_folder


@pytest.fixture
def fake_predictor():
    return FakePredictor()


@pytest.fixture
def build_folder(tmp_path):
    return write_build_folder(
        tmp_path / "build",
        {
            "dis_vd": [
                make_record("dis5k/a", "dis_vd", 256, 256, (5, 5, 14, 14)),
                make_record("dis5k/b", "dis_vd", 256, 256, (10, 3, 29, 20)),
            ],
            "coift": [
                make_record("coift/c", "coift", 256, 256, (5, 5, 14, 14)),
                make_record("coift/empty", "coift", 20, 20, (0, 0, 3, 3), grey=128),
            ],
        },
    )
