"""Fixtures shared by the fault tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """An official-format test_vit checkpoint with fixed random weights."""
    import torch

    from hqseg.modeling import build_hq_sam, save_official_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "sam_hq_test_vit.pth"
    save_official_checkpoint(build_hq_sam("test_vit"), path)
    return path
