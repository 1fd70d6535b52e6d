"""`eval hq` sharded over 2 gloo ranks writes the same files as one process."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FILES = ("per_image.csv", "metrics.json", "masks.json", "skipped.csv")


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    from evalfakes import FakePredictor
    from gloo import gloo_group

    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks

    with gloo_group(rank, world, port):
        summary = evaluate_hq_benchmarks(FakePredictor(), data, out, progress=False)
        assert (summary is None) == (rank != 0)


def test_two_ranks_match_one_process(tmp_path, build_folder, fake_predictor):
    import torch.multiprocessing as mp
    from gloo import free_port

    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks

    evaluate_hq_benchmarks(fake_predictor, build_folder, tmp_path / "one", progress=False)
    args = (2, free_port(), str(build_folder), str(tmp_path / "two"))
    mp.spawn(_worker, args=args, nprocs=2)
    for name in FILES:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
