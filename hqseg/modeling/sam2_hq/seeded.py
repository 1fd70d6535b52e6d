"""Seeded random weights that do not depend on how a model was built.

Two implementations of one architecture (hqseg's HQ-SAM 2 and the authors' code)
create their modules in different orders, so ``torch.manual_seed`` alone gives them
different weights. :func:`fill_seeded` sets every floating tensor of the state dict
from its own name instead, with numpy's PCG64 (stable across versions):

* tensors of 2+ dims: N(0, 1) / sqrt(fan_in), fan_in = numel / shape[0];
* 1-dim ``*.weight`` (norm scales): 1 + 0.1 N(0, 1); other 1-dim tensors: 0.1 N(0, 1).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from torch import nn


def seeded_tensor(name: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """The float32 tensor :func:`fill_seeded` gives ``name``."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x = rng.standard_normal(shape).astype(np.float32)
    if len(shape) >= 2:
        x /= np.float32(np.sqrt(max(1, int(np.prod(shape)) // shape[0])))
    elif name.endswith(".weight"):
        x = np.float32(1.0) + np.float32(0.1) * x
    else:
        x *= np.float32(0.1)
    return torch.from_numpy(x)


@torch.no_grad()
def fill_seeded(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Overwrite every floating parameter and buffer of ``model``'s state dict; return
    the values set (name -> tensor)."""
    values = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        if tensor.is_floating_point():
            values[name] = seeded_tensor(name, tuple(tensor.shape), seed)
            tensor.copy_(values[name])
    return values
