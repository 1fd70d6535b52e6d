"""torchrun process groups and gradient averaging.

Gradients of the HQ parameters are averaged with one explicit all-reduce per
optimiser step instead of wrapping in DistributedDataParallel: the trainable part
(~1.3 M parameters) is reached through ``encode``/``decode`` calls, not one
``forward``, so DDP's hooks would need a wrapper module plus
``find_unused_parameters`` for the frozen SAM weights; a single flattened
all-reduce after the accumulated backward passes is simpler, clearly correct
with gradient accumulation (no ``no_sync`` juggling) and equally fast here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the torchrun process group if launched by torchrun (NCCL on CUDA, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return info


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> this process's GPU when CUDA exists, else CPU; otherwise as given."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    from hqseg.utils.device import parse_device

    device = parse_device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            from hqseg.errors import HqsegError

            raise HqsegError("--device cuda was requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def average_gradients(params: list[torch.nn.Parameter], info: DistInfo) -> None:
    """All-reduce and average the gradients of ``params`` across ranks (one flat buffer)."""
    if not info.enabled:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_parameters(params: list[torch.nn.Parameter], info: DistInfo) -> None:
    """Make every rank start from rank 0's values."""
    if not info.enabled:
        return
    with torch.no_grad():
        for p in params:
            dist.broadcast(p.data, src=0)


def all_reduce_mean(value: float, info: DistInfo, device: torch.device) -> float:
    """Mean of a Python float over ranks (for logging)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def broadcast_object(value, info: DistInfo):
    """Rank 0's ``value`` (any picklable object) on every rank; ``value`` itself alone."""
    if not info.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def main_process_first(info: DistInfo) -> Iterator[None]:
    """Run the block on rank 0 first, then on the others (e.g. so one rank fills a cache)."""
    if not info.is_main:
        barrier(info)
    yield
    if info.is_main:
        barrier(info)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
