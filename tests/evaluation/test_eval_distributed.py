"""`eval coco` sharded over 2 gloo ranks gives the same files as one process."""

from __future__ import annotations

import json
import os
import socket

import pytest

from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, sample: dict, out: str) -> None:
    import torch.distributed as dist
    from evalfakes import FakePredictor

    from hqseg.evaluation.coco import evaluate_coco_models

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        metrics = evaluate_coco_models(
            FakePredictor(),
            sample["annotations"],
            sample["images"],
            out,
            detections=sample["detections"],
            progress=False,
        )
        assert (metrics is None) == (rank != 0)
    finally:
        dist.destroy_process_group()


def test_two_ranks_match_one_process(tmp_path, fake_predictor):
    import torch.multiprocessing as mp

    from hqseg.evaluation.coco import evaluate_coco_models

    sample = write_coco_sample(tmp_path / "coco", seed=2)
    single = evaluate_coco_models(
        fake_predictor,
        sample["annotations"],
        sample["images"],
        tmp_path / "one",
        detections=sample["detections"],
        progress=False,
    )
    mp.spawn(_worker, args=(2, _free_port(), sample, str(tmp_path / "two")), nprocs=2)
    for name in ("results_sam.json", "results_hq_sam.json"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["setup"]["world_size"] == 2
    assert two["hq_sam"] == single["hq_sam"] and two["sam"] == single["sam"]
