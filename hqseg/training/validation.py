"""Held-out validation during training, through the evaluation protocol itself.

It calls :func:`hqseg.evaluation.hq.evaluate_hq_split` with the default protocol (the
authors' HQ evaluation, :mod:`hqseg.evaluation.protocol`: GT box prompt, HQ-token
output, logits upsampled to the GT size, >0 vs GT>128, per-image mean), the very
function ``hqseg eval hq`` uses, so train-time and eval-time numbers agree.
"""

from __future__ import annotations

from hqseg.errors import DatasetError
from hqseg.training.config import TrainConfig


def open_val_splits(config: TrainConfig) -> dict[str, object]:
    """The validation splits as datasets (limited to ``val_limit`` images each)."""
    from hqseg.data.records import load_split

    splits = {}
    for name in config.val_splits:
        records = load_split(config.data, config.val_config, name)
        if len(records) == 0:
            raise DatasetError(
                f"{config.data}: validation split {config.val_config}/{name} is empty"
            )
        if config.val_limit:
            records = records.select(range(min(config.val_limit, len(records))))
        splits[name] = records
    return splits


def validate(model, splits: dict[str, object], *, bf16: bool = False) -> dict[str, float]:
    """``{"mIoU", "mBIoU"}`` in percent (mean of the per-split means) plus per-split values."""
    from hqseg.evaluation.hq import evaluate_hq_split

    results: dict[str, float] = {}
    mious, mbious = [], []
    for name, records in splits.items():
        _, summary = evaluate_hq_split(
            model, records, mask_type="hq", benchmark=name, bf16=bf16, progress=False
        )
        scores = summary[name]["hq_sam"]
        results[f"{name}/mIoU"] = scores["mIoU"]
        results[f"{name}/mBIoU"] = scores["mBIoU"]
        mious.append(scores["mIoU"])
        mbious.append(scores["mBIoU"])
    results["mIoU"] = sum(mious) / len(mious)
    results["mBIoU"] = sum(mbious) / len(mbious)
    return results
