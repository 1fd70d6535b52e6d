"""Shared fixtures: a tiny HQ-SAM with perturbed random weights (deterministic)."""

import warnings

import pytest
import torch

with warnings.catch_warnings():  # timm's deprecation notices, raised on first import
    warnings.simplefilter("ignore")
    import segment_anything_hq.modeling  # noqa: F401  (a test dependency: fail if missing)

from hqseg.modeling import build_hq_sam


def perturb_(model: torch.nn.Module, seed: int = 0, scale: float = 0.02) -> torch.nn.Module:
    """Add seeded noise to every parameter, so zero-initialised ones (rel-pos, biases)
    and LayerNorm affines take part in comparisons."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return model


@pytest.fixture(scope="session")
def perturb():
    """The :func:`perturb_` helper (test modules here are not an importable package)."""
    return perturb_


@pytest.fixture(scope="session")
def tiny_model():
    torch.manual_seed(0)
    return perturb_(build_hq_sam("test_vit"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_model):
    from hqseg.modeling import save_official_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "sam_hq_test_vit.pth"
    save_official_checkpoint(tiny_model, path)
    return path
