"""Run-state files (training checkpoints) and the resumable sampler, without training."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from hqseg.errors import CheckpointError
from hqseg.training.data import ResumableSampler
from hqseg.training.run_state import (
    Position,
    load_run_state,
    position_of,
    resolve_resume,
    save_run_state,
    set_rng_state,
)


def _save(run_dir, step=7):
    param = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([param], lr=1e-3)
    param.grad = torch.ones(3)
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    return save_run_state(
        run_dir,
        hq_state={"w": param.detach().clone()},
        optimizer=opt,
        scheduler=sched,
        position=Position(1, 4, step),
        config={"model_type": "test_vit", "val_splits": ["dis_vd"]},
    )


def test_run_state_round_trip_with_weights_only_and_rng(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    last = _save(tmp_path)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    assert last == tmp_path / "checkpoints" / "last.pt"
    assert (tmp_path / "checkpoints" / "step_0000007.pt").read_bytes() == last.read_bytes()
    payload = load_run_state(last)  # weights_only=True inside
    assert position_of(payload) == Position(1, 4, 7)
    assert payload["optimizer"]["state"][0]["step"].item() == 1
    set_rng_state(payload["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))  # atomic writes leave nothing


def test_bad_run_state_files_are_named_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_run_state(tmp_path / "missing.pt")
    last = _save(tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(last.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_run_state(truncated)


def test_resolve_resume(tmp_path):
    assert resolve_resume(None, tmp_path) is None
    assert resolve_resume("auto", tmp_path) is None  # nothing yet: fresh start
    _save(tmp_path)
    assert resolve_resume("auto", tmp_path) == tmp_path / "checkpoints" / "last.pt"


def test_sampler_shards_ranks_and_skips_a_consumed_prefix():
    data = list(range(10))
    shards = []
    for rank in range(2):
        s = ResumableSampler(data, num_replicas=2, rank=rank, seed=42)
        s.set_epoch(3)
        shards.append(list(s))
    assert all(e == 3 for e, _ in shards[0] + shards[1])
    assert sorted(i for _, i in shards[0] + shards[1]) == data  # disjoint, complete
    s = ResumableSampler(data, num_replicas=2, rank=1, seed=42)
    s.set_epoch(3, skip=2)
    assert list(s) == shards[1][2:]
    s.set_epoch(4)
    assert [i for _, i in s] != [i for _, i in shards[1]]  # reshuffled per epoch
