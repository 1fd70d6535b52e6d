"""Training gives the same bits whatever instruction sets the CPU offers (portable numerics).

A CPU's generation is stood in for by the variables torch reads to choose its kernels: an
older CPU (no AVX: ATen ``default``, MKL ``COMPATIBLE``, oneDNN ``SSE41``) against this
machine's AVX2. Without the pin the two give different gradients (each variable alone does);
with it, both run the portable kernels and agree bit for bit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HQSEG = str(Path(sys.executable).with_name("hqseg"))
OLDER_CPU = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
}
NEWER_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}

# One training step of test_vit in a fresh process, as `hqseg` starts one: pin first, then
# import torch. Prints the kernel level and a digest of the loss and the HQ gradients.
STEP = """
from hqseg.utils.cpu_numerics import pin_cpu_numerics
pin_cpu_numerics()
import hashlib
import torch
from hqseg.training import model_api
from hqseg.training.config import TrainConfig
from hqseg.training.step import backward_micro_batch

g = torch.Generator().manual_seed(0)
target = torch.zeros(1, 1, 1024, 1024, dtype=torch.uint8)
target[0, :, 200:600, 300:700] = 255
batch = {
    "image": torch.randint(0, 256, (1, 3, 1024, 1024), generator=g, dtype=torch.uint8),
    "target": target,
    "kind": torch.tensor([0]),
    "box": torch.tensor([[300.0, 200, 699, 599]]),
    "points": torch.zeros(1, 10, 2),
    "point_labels": torch.ones(1, 10),
    "mask_prompt": torch.zeros(1, 1, 256, 256, dtype=torch.uint8),
}
torch.manual_seed(0)
model = model_api.build_model("test_vit", None)
parts = backward_micro_batch(
    model, batch, config=TrainConfig(model_type="test_vit", loss_points=512),
    device=torch.device("cpu"), generator=torch.Generator().manual_seed(5),
)
digest = hashlib.sha256(parts.total.detach().numpy().tobytes())
for _, p in model_api.hq_named_parameters(model):
    digest.update(p.grad.numpy().tobytes())
print(torch.backends.cpu.get_cpu_capability(), digest.hexdigest())
"""


def _has_avx2() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.is_file() and " avx2" in cpuinfo.read_text()


def _step(mode: str, cpu: dict[str, str]) -> tuple[str, str]:
    env = {**os.environ, **cpu, "HQSEG_CPU_NUMERICS": mode, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.getcwd()
    proc = subprocess.run(
        [sys.executable, "-c", STEP], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    level, digest = proc.stdout.split()[-2:]
    return level, digest


def _steps(runs: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    """The step for each (mode, stand-in CPU), two at a time (one core each)."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda run: _step(*run), runs))


@pytest.mark.slow
@pytest.mark.skipif(not _has_avx2(), reason="the newer stand-in needs an AVX2 CPU")
def test_training_step_is_bit_identical_across_cpu_levels_only_when_pinned():
    """The pinned newer CPU must give the older CPU's own bits (the pin sets the older
    stand-in's variables, so the older CPU pinned is the same run as unpinned)."""
    from hqseg.utils.cpu_numerics import PORTABLE_ENV

    assert OLDER_CPU == PORTABLE_ENV
    old, new, new_pinned = _steps(
        [("native", OLDER_CPU), ("native", NEWER_CPU), ("portable", NEWER_CPU)]
    )
    assert (old[0], new[0]) == ("DEFAULT", "AVX2")
    assert old[1] != new[1]  # the stand-ins really compute differently ...
    assert new_pinned[0] == "DEFAULT"
    assert new_pinned[1] == old[1]  # ... and the pin makes the newer one agree bit for bit


def test_the_command_refuses_an_unknown_numerics_mode_in_one_line():
    env = {**os.environ, "HQSEG_CPU_NUMERICS": "fastest", "PYTHONPATH": os.getcwd()}
    proc = subprocess.run([HQSEG, "sources"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: HQSEG_CPU_NUMERICS='fastest': must be one of portable, native"
    ]
