"""The same float32 results on every x86-64 CPU: pin the instruction sets torch computes with.

torch picks its CPU kernels when the process first needs them, from what the CPU offers:
ATen's vectorised kernels (sums, softmax, norms, activations: ``ATEN_CPU_CAPABILITY``),
MKL's BLAS (every ``Linear`` and ``matmul``: ``MKL_CBWR``) and oneDNN's convolutions
(``ONEDNN_MAX_CPU_ISA``). Wider vectors add in another order, so an AVX-512 CPU's training
losses differed from an AVX2 CPU's in the sixth digit, and the checkpoint's bytes with them.
Each of the three alone changes the bytes of one training step's gradients (measured).

``portable`` (the default, and params.yaml ``runtime.cpu_numerics`` for the embedded job)
sets the three to levels every x86-64 CPU runs: ATen's ``default`` kernels (no AVX), MKL's
``COMPATIBLE`` branch (SSE2 without the vendor-specific ``rcpps``/``rsqrtps``, so Intel and
AMD agree) and oneDNN's ``SSE41`` (oneDNN's floor; CPUs from 2008 on). ``native`` leaves
them to torch (and to any of these variables you set yourself): fastest, last bits vary by
CPU. The variables must be in the environment before torch first computes, so the
``hqseg`` command sets them before it imports torch; torchrun ranks, DataLoader workers and
DVC stages inherit them. Thread counts must also be fixed (params.yaml ``runtime.threads``):
how a sum is split between threads changes its rounding too.
"""

from __future__ import annotations

import os
import sys

from hqseg.errors import HqsegError

ENV = "HQSEG_CPU_NUMERICS"
MODES = ("portable", "native")
DEFAULT_MODE = "portable"
PORTABLE_ENV = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
}
"""The pinned levels: every x86-64 CPU with SSE4.1 (all since 2008) computes the same bits."""


def cpu_numerics_mode(env: dict[str, str] | os._Environ = os.environ) -> str:
    """The mode ``HQSEG_CPU_NUMERICS`` asks for (unset or empty: portable)."""
    mode = (env.get(ENV) or DEFAULT_MODE).strip().lower()
    if mode not in MODES:
        raise HqsegError(f"{ENV}={env.get(ENV)!r}: must be one of {', '.join(MODES)}")
    return mode


def pin_cpu_numerics() -> str | None:
    """Apply ``HQSEG_CPU_NUMERICS`` to this process's environment (and so to its children).

    Returns the mode applied, or None when torch is already imported: its kernels may be
    chosen already, so the process keeps what it has (in-process callers such as tests
    and notebooks; the ``hqseg`` command always starts without torch).
    """
    mode = cpu_numerics_mode()
    if "torch" in sys.modules:
        return None
    os.environ[ENV] = mode  # children that import hqseg.cli see the same choice
    if mode == "portable":
        os.environ.update(PORTABLE_ENV)
    return mode
