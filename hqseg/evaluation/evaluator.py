"""Evaluator protocol and the inference loop (detectron2 style).

The loop owns iteration and progress; the runner (a model wrapper) knows nothing
of metrics; the evaluator knows nothing of models. An evaluator is fed with
``process(inputs, outputs)`` once per batch and summarised with ``evaluate()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class DatasetEvaluator:
    """Base class: accumulate per-input results, then summarise them."""

    def reset(self) -> None:
        """Forget everything processed so far."""

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        """Consume one batch: ``inputs[i]`` produced ``outputs[i]``."""
        raise NotImplementedError

    def evaluate(self) -> Any:
        """Summarise all processed inputs."""
        raise NotImplementedError


def inference_on_dataset(
    runner: Callable[[dict], dict],
    inputs: Iterable[dict],
    evaluator: DatasetEvaluator,
    *,
    total: int | None = None,
    progress: bool = True,
    desc: str = "inference",
) -> Any:
    """Run ``runner`` on each input, feed the evaluator, return ``evaluator.evaluate()``.

    Args:
        runner: maps one input dict to one output dict.
        inputs: iterable of input dicts (one image each).
        evaluator: reset before the loop.
        total: length for the progress bar when ``inputs`` has no ``len``.
        progress: a bar on a terminal; otherwise (and when False) a log line every
            30 s (see :mod:`hqseg.utils.progress`).
    """
    from hqseg.utils.progress import progress_bar

    evaluator.reset()
    if total is None and hasattr(inputs, "__len__"):
        total = len(inputs)  # type: ignore[arg-type]
    for item in progress_bar(inputs, total=total, desc=desc, bar=progress, unit="img"):
        evaluator.process([item], [runner(item)])
    return evaluator.evaluate()
