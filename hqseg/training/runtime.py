"""Process set-up of a training rank: seeds, intra-op threads and loader workers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from hqseg.utils.procs import usable_cores


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _local_ranks() -> int:
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def set_thread_count() -> int:
    """Intra-op threads: ``OMP_NUM_THREADS`` if set (torchrun sets 1 per rank), else the
    cores this process may use divided by the ranks on this node (no oversubscription)."""
    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(max(1, usable_cores() // _local_ranks()))
    return torch.get_num_threads()


def default_workers(num_workers: int, device: torch.device) -> int:
    """``num_workers`` (-1 = auto: none on CPU, where workers would take cores from the
    step itself, up to 4 per GPU: the loader does ~1.5 samples/s per core and vit_l
    trains ~4 images/s per GPU)."""
    if num_workers >= 0:
        return num_workers
    if device.type != "cuda":
        return 0
    return max(1, min(4, usable_cores() // _local_ranks() - 1))
