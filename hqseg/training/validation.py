"""Held-out validation during training, through the evaluation protocol itself.

It calls :func:`hqseg.evaluation.hq.evaluate_hq_split` with the default protocol (the
authors' HQ evaluation, :mod:`hqseg.evaluation.protocol`: GT box prompt, HQ-token
output, logits upsampled to the GT size, >0 vs GT>128, per-image mean), the very
function ``hqseg eval hq`` uses, so train-time and eval-time numbers agree.

Encode once. The image encoder is frozen during training, so its outputs of the
validation images are the same at every epoch end: :func:`validation_encodings` gives
the run an in-memory :class:`~hqseg.evaluation.encodings.EncodingCache` (rank 0 only,
which alone validates), the first validation fills it and each later one costs only the
prompt encoder and the decoder (the encoder's digest, the key's first part, is computed
once a run too). The metrics are bit-identical with and without it.
Memory only, by design: the run folder stays as small as before and a resumed run
(``--resume``) fills it again at its first validation. The budget is
:data:`VAL_CACHE_BYTES` (``HQSEG_VAL_CACHE_MB`` overrides it; 0 turns the cache off);
images beyond it are encoded at every validation, as before. An encoder with a
trainable parameter is never cached (a note says so).
"""

from __future__ import annotations

import os
from typing import Any

from hqseg.errors import DatasetError, HqsegError
from hqseg.training.config import TrainConfig

VAL_CACHE_BYTES = 8 << 30
"""Default memory budget of the validation encodings (8 GiB: ~400 ViT-L images in
float32, 20 MiB each; ~800 under bf16)."""
VAL_CACHE_ENV = "HQSEG_VAL_CACHE_MB"


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


def validation_encodings(model) -> Any | None:
    """An in-memory encoding cache for ``model``'s validation (see the module doc), or
    None when the budget is 0 or an encoder parameter is trainable."""
    from hqseg.evaluation.encodings import EncodingCache, encoder_frozen

    value = os.environ.get(VAL_CACHE_ENV)
    try:
        budget = VAL_CACHE_BYTES if value is None else int(float(value) * (1 << 20))
    except ValueError:
        raise HqsegError(f"{VAL_CACHE_ENV}={value!r}: expected a number of MiB") from None
    if budget <= 0:
        return None
    if not encoder_frozen(model):
        print("note: the image encoder has trainable parameters; validation encodes "
              "every image at every validation (no encoding cache)", flush=True)  # fmt: skip
        return None
    return EncodingCache(memory_bytes=budget, fixed_encoders=True)  # frozen: one digest a run


def validate(
    model, splits: dict[str, object], *, bf16: bool = False, encodings: Any | None = None
) -> dict[str, float]:
    """``{"mIoU", "mBIoU"}`` in percent (mean of the per-split means) plus per-split values.

    ``encodings``: the run's :func:`validation_encodings` (None: encode every image).
    """
    from hqseg.evaluation.hq import evaluate_hq_split

    results: dict[str, float] = {}
    mious, mbious = [], []
    for name, records in splits.items():
        _, summary = evaluate_hq_split(
            model,
            records,
            mask_type="hq",
            benchmark=name,
            bf16=bf16,
            progress=False,
            encodings=encodings,
        )
        scores = summary[name]["hq_sam"]
        results[f"{name}/mIoU"] = scores["mIoU"]
        results[f"{name}/mBIoU"] = scores["mBIoU"]
        mious.append(scores["mIoU"])
        mbious.append(scores["mBIoU"])
    results["mIoU"] = sum(mious) / len(mious)
    results["mBIoU"] = sum(mbious) / len(mbious)
    return results
