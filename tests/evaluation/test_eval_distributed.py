"""`eval coco` sharded over 2 gloo ranks gives the same files as one process."""

from __future__ import annotations

import json

import pytest

from hqseg.sample.coco import write_coco_sample

pytestmark = pytest.mark.slow


def _worker(rank: int, world: int, port: int, sample: dict, out: str) -> None:
    from evalfakes import FakePredictor
    from gloo import gloo_group

    from hqseg.evaluation.coco import evaluate_coco_models

    with gloo_group(rank, world, port):
        metrics = evaluate_coco_models(
            FakePredictor(),
            sample["annotations"],
            sample["images"],
            out,
            detections=sample["detections"],
            progress=False,
        )
        assert (metrics is None) == (rank != 0)


def test_two_ranks_match_one_process(tmp_path, fake_predictor):
    import torch.multiprocessing as mp
    from gloo import free_port

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
    mp.spawn(_worker, args=(2, free_port(), sample, str(tmp_path / "two")), nprocs=2)
    for name in ("results_sam.json", "results_hq_sam.json"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["setup"]["world_size"] == 2
    assert two["hq_sam"] == single["hq_sam"] and two["sam"] == single["sam"]
