"""Bounds for comparing float32 results, derived from float32 arithmetic (tests only).

Two float32 computations of the same function that differ only in how they are carried
out (another CPU's vector width, another library's kernels, one image against a batch) give
values that differ by rounding. Each operation rounds to half an ulp (``EPS32 / 2`` ≈ 6e-8
relative) and a sum of ``n`` terms in another order by up to ``n · EPS32 · Σ|x|``; through
the tens of layers of the tiny test models that adds up to a few parts in 1e6 of the
values the network carries (issue 17: 5e-6 relative at most, AVX-512 against AVX2).

The bound is relative to the *scale* of the output, not to each element: an element near
zero is the difference of terms of that scale and keeps their absolute rounding error, so
``atol = rtol · scale``. The scale is at least 1 because the models' activations are
LayerNorm-normalised, O(1), even where an output (an IoU, a small logit) is smaller.

A real fault (a wrong weight, a dropped token, a mis-scaled box) moves outputs by 1e-3 and
more of their scale: two orders of magnitude above these bounds, which stay able to fail.
"""

from __future__ import annotations

import numpy as np
import torch

EPS32 = float(torch.finfo(torch.float32).eps)  # 1.19e-7: one float32 ulp at 1.0
RTOL32 = 1e-5  # ≈ 84 ulps: rounding through a few dozen float32 layers, other sum orders
RTOL32_OTHER_KERNELS = 1e-4  # ≈ 840 ulps: another runtime's kernels (onnxruntime: fused
# ops, its own op order) or another batch size, which splits the long sums (256-channel
# convolutions, 4096-token attention) into other blocks


def scale(reference, floor: float = 1.0) -> float:
    """The magnitude rounding errors are relative to: ``max(floor, max |reference|)``.
    ``floor=0`` where the values are not activations (gradients: their own scale)."""
    values = reference if torch.is_tensor(reference) else torch.as_tensor(np.asarray(reference))
    values = values.detach().double()
    return max(floor, float(values.abs().max())) if values.numel() else floor


def float32_tol(reference, rtol: float = RTOL32, floor: float = 1.0) -> dict[str, float]:
    """``{"rtol", "atol"}`` for outputs of ``reference``'s scale: ``atol = rtol · scale``."""
    return {"rtol": rtol, "atol": rtol * scale(reference, floor)}


def assert_close_f32(
    actual, expected, rtol: float = RTOL32, msg: str | None = None, floor: float = 1.0
) -> None:
    """``actual`` equals ``expected`` (tensors or arrays) up to float32 rounding at
    ``expected``'s scale (:func:`float32_tol`)."""
    tol = float32_tol(expected, rtol, floor)
    if not torch.is_tensor(expected):
        np.testing.assert_allclose(actual, expected, err_msg=msg or "", **tol)
        return
    torch.testing.assert_close(actual, expected, msg=msg, **tol)


def sum_atol(terms: int, magnitude: float) -> float:
    """Two float32 sums of ``terms`` values of size ``magnitude``, added in different orders,
    differ by at most ``terms · EPS32 · terms · magnitude`` (each ``≤ (n-1)·EPS32/2·Σ|x|``);
    this is the worst case, used where the sum is a scalar summary."""
    return terms * EPS32 * terms * magnitude
