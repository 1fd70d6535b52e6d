"""Evaluator protocol, the inference loop and the inference context (detectron2 style).

The loop owns iteration and progress; the runner (a model wrapper) knows nothing
of metrics; the evaluator knows nothing of models. An evaluator is fed with
``process(inputs, outputs)`` once per batch and reduced with ``evaluate()``, which
gathers what every rank processed, merges it and scores it (rank 0 returns the result,
other ranks None), as detectron2's ``DatasetEvaluator.evaluate()`` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class DatasetEvaluator:
    """Base class: accumulate per-input results, then gather, merge and score them."""

    def reset(self) -> None:
        """Forget everything processed so far."""

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        """Consume one batch: ``inputs[i]`` produced ``outputs[i]``."""
        raise NotImplementedError

    def evaluate(self) -> Any:
        """Gather (across ranks where the evaluator is distributed), merge and score."""
        raise NotImplementedError


@contextlib.contextmanager
def inference_context(model: Any) -> Iterator[Any]:
    """Run ``model`` in eval mode inside the block; restore each module's previous
    train/eval mode afterwards (also on error). Objects without ``modules()`` (a
    predictor's model is used instead) pass through unchanged."""
    target = getattr(model, "model", model) if not hasattr(model, "modules") else model
    modes = [(m, m.training) for m in target.modules()] if hasattr(target, "modules") else []
    try:
        if hasattr(target, "eval"):
            target.eval()
        yield model
    finally:
        for module, training in modes:
            module.training = training


def inference_on_dataset(
    runner: Callable[[list[dict]], list[dict]],
    batches: Iterable[list[dict]],
    evaluator: DatasetEvaluator,
    *,
    total: int | None = None,
    progress: bool = True,
    desc: str = "inference",
) -> Any:
    """Run ``runner`` on each batch, feed the evaluator, return ``evaluator.evaluate()``.

    Args:
        runner: maps a batch (list of input dicts, one image each) to one output dict
            per input.
        batches: iterable of batches.
        evaluator: reset before the loop.
        total: number of images, for the progress reporter.
        progress: a bar on a terminal; otherwise (and when False) a log line every
            30 s (see :mod:`hqseg.utils.progress`).
    """
    from hqseg.utils.progress import progress_bar

    evaluator.reset()
    with progress_bar(total=total, desc=desc, bar=progress, unit="img") as bar:
        for batch in batches:
            evaluator.process(batch, runner(batch))
            bar.update(len(batch))
    return evaluator.evaluate()
