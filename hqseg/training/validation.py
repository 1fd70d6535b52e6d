"""Held-out validation during training, through the evaluation protocol itself.

It calls :func:`hqseg.evaluation.hq.evaluate_hq_split` with the default protocol (the
authors' HQ evaluation, :mod:`hqseg.evaluation.protocol`: GT box prompt, HQ-token
output, logits upsampled to the GT size, >0 vs GT>128, per-image mean), the very
function ``hqseg eval hq`` uses, so train-time and eval-time numbers agree.
"""

from __future__ import annotations

import os

from hqseg.errors import DatasetError
from hqseg.training.config import TrainConfig


def open_val_splits(config: TrainConfig) -> dict[str, object]:
    """The validation splits as datasets (limited to ``val_limit`` images each).

    ``val_config`` ``hq_eval`` (the default) on a build without that config (your own
    data alone, ``--preset none``) means the build's evaluation splits: every split of a
    per-source config that is not in ``default/train``, named ``<config>_<split>``.

    Raises:
        DatasetError: a split is missing or empty, or there is nothing to validate on;
            the message names the configs and splits the build has and the flags to pass.
    """
    from hqseg.data.records import MissingSplitError, build_configs, load_split

    configs = build_configs(config.data)
    flags = (
        f"the build has {_listing(configs)}; pass --val-config CONFIG --val-splits SPLIT[,SPLIT] "
        "(or --no-validate)"
    )
    if config.val_config == "hq_eval" and "hq_eval" not in configs:
        wanted = [(c, s, f"{c}_{s}") for c, s in evaluation_splits(configs)]
        if not wanted:
            raise DatasetError(f"{config.data}: nothing to validate on: no hq_eval config and "
                               f"no evaluation split; {flags}")  # fmt: skip
        if os.environ.get("RANK", "0") == "0":
            print("validating on the build's evaluation splits (it has no hq_eval config): "
                  + ", ".join(f"{c}/{s}" for c, s, _ in wanted), flush=True)  # fmt: skip
    else:
        wanted = [(config.val_config, s, s) for s in config.val_splits]
    splits = {}
    for conf, split, name in wanted:
        try:
            records = load_split(config.data, conf, split)
        except MissingSplitError as exc:
            raise DatasetError(f"{exc}; {flags}") from exc
        if len(records) == 0:
            raise DatasetError(f"{config.data}: validation split {conf}/{split} is empty")
        if config.val_limit:
            records = records.select(range(min(config.val_limit, len(records))))
        splits[name] = records
    return splits


def evaluation_splits(configs: dict[str, dict[str, list[str]]]) -> list[tuple[str, str]]:
    """``(config, split)`` of the per-source splits whose files are not in ``default/train``
    (``configs`` as :func:`hqseg.data.records.build_configs` returns)."""
    train = set(configs.get("default", {}).get("train", []))
    return [
        (name, split)
        for name, splits in configs.items()
        if name not in ("default", "hq_eval")
        for split, files in splits.items()
        if files and not set(files) <= train
    ]


def _listing(configs: dict[str, dict[str, list[str]]]) -> str:
    return "; ".join(f"config {c!r} with split(s) {', '.join(s)}" for c, s in configs.items())


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
