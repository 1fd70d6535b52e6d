"""Evaluation: evaluators (reset / process / evaluate), the inference loop, HQ and COCO runs.

* :class:`HQProtocol` -- the HQ-SAM authors' HQ evaluation, end to end (the default
  protocol, ``"square"``); :class:`LongestSideProtocol` -- SAM's geometry, by name;
* :func:`evaluate_hq_split` -- one HQ split, shared by training validation and ``eval hq``;
* :func:`evaluate_hq_benchmarks` -- every HQ split of a build folder, written to disk;
* :func:`evaluate_coco_models` -- SAM and HQ-SAM on COCO box prompts, AP and boundary AP.
"""

from hqseg.evaluation.coco import COCOResultsEvaluator, evaluate_coco_models
from hqseg.evaluation.evaluator import DatasetEvaluator, inference_on_dataset
from hqseg.evaluation.hq import HQBenchmarkEvaluator, evaluate_hq_split, run_hq_split
from hqseg.evaluation.hq_run import evaluate_hq_benchmarks
from hqseg.evaluation.protocol import PROTOCOLS, HQProtocol, LongestSideProtocol, get_protocol

__all__ = [
    "COCOResultsEvaluator",
    "DatasetEvaluator",
    "HQBenchmarkEvaluator",
    "HQProtocol",
    "LongestSideProtocol",
    "PROTOCOLS",
    "evaluate_coco_models",
    "evaluate_hq_benchmarks",
    "evaluate_hq_split",
    "get_protocol",
    "inference_on_dataset",
    "run_hq_split",
]
