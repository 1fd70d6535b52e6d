"""`eval hq` sharded over 2 gloo ranks writes the same files as one process."""

from __future__ import annotations

import os
import socket

import pytest

pytestmark = pytest.mark.slow

FILES = ("per_image.csv", "metrics.json", "masks.json", "skipped.csv")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    import torch.distributed as dist
    from evalfakes import FakePredictor

    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        summary = evaluate_hq_benchmarks(FakePredictor(), data, out, progress=False)
        assert (summary is None) == (rank != 0)
    finally:
        dist.destroy_process_group()


def test_two_ranks_match_one_process(tmp_path, build_folder, fake_predictor):
    import torch.multiprocessing as mp

    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks

    evaluate_hq_benchmarks(fake_predictor, build_folder, tmp_path / "one", progress=False)
    args = (2, _free_port(), str(build_folder), str(tmp_path / "two"))
    mp.spawn(_worker, args=args, nprocs=2)
    for name in FILES:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
