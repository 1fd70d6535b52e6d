"""Helpers of ``hqseg eval hq`` / ``hqseg eval coco``: loading one or several checkpoints
(the one place that calls :func:`~hqseg.cli.model_type.load_cli_predictor`), their output
units and provenance, the start-up line's data and the torchrun group's end."""

from __future__ import annotations

from hqseg.cli.model_type import load_cli_predictor
from hqseg.modeling.model_types import DEFAULT_MODEL_TYPE


def provenance(model_type, checkpoint: str | None, data, specs=None, **params):
    """What produced this run's numbers, for ``provenance.json`` (see hqseg.provenance).

    The model type is recorded as evaluated: the option, else the type inferred from the
    checkpoint (read here once more; a bad checkpoint is reported by the loader after
    this, so here it leaves the type None), else the default.
    """
    from hqseg.errors import HqsegError
    from hqseg.provenance import collect_provenance

    if model_type is None and checkpoint is None:
        model_type = DEFAULT_MODEL_TYPE
    elif model_type is None:
        from hqseg.modeling.checkpoint import infer_model_type, read_state_dict

        try:
            model_type = infer_model_type(read_state_dict(checkpoint), path=checkpoint)
        except (HqsegError, ValueError):
            model_type = None
    return collect_provenance(
        model_type=model_type, checkpoint=checkpoint, params=params, data_dir=data, specs=specs
    )


def unit_provenance(model_type, checkpoints, units, data, specs=None, **params):
    """``provenance`` of each checkpoint: one dict for a single one, else ``{unit: dict}``
    (the baseline unit ``sam`` records the first checkpoint)."""
    first = checkpoints[0] if checkpoints else None
    if len(checkpoints) <= 1:
        return provenance(model_type, first, data, specs, **params)
    from hqseg.evaluation.heads import BASELINE_UNIT

    out = {u: provenance(model_type, c, data, specs, **params)
           for u, c in zip(units, checkpoints, strict=True)}  # fmt: skip
    out[BASELINE_UNIT] = out[units[0]]
    return out


def output_units(checkpoints, out_dir) -> list[str]:
    """Output units of the checkpoints (``[""]`` = ``--out`` itself for one)."""
    if len(checkpoints) <= 1:
        return [""]
    from hqseg.evaluation.shared_encoder import checkpoint_units

    return checkpoint_units(checkpoints, out_dir)


def load_checkpoints(model_type, checkpoints, units, device, bf16, resize_mode, data):
    """Every checkpoint's predictor (the one place that loads them), sharing the first
    one's image encoder; returns :class:`~hqseg.evaluation.shared_encoder.Checkpoints`."""
    from hqseg.evaluation.shared_encoder import Checkpoints

    paths = list(checkpoints) or [None]
    run = None
    for path, unit in zip(paths, units, strict=True):
        predictor = load_cli_predictor(model_type, path, device, bf16, resize_mode, data=data)
        if run is None:
            run = Checkpoints([predictor], [unit])
        else:
            run.add(predictor, unit, label=f"--checkpoint {path}")
    return run


def hq_data(data_dir, splits, benchmarks) -> dict:
    """The start-up line's data field of ``eval hq``."""
    if benchmarks:
        return {"benchmarks": " ".join(benchmarks)}
    from hqseg.data.records import split_counts
    from hqseg.evaluation.hq_run import HQ_CONFIG

    counts = split_counts(data_dir).get(HQ_CONFIG, {})
    counts = {k: n for k, n in counts.items() if not splits or k in splits}
    return {HQ_CONFIG: counts} if counts else {"folder": data_dir}  # no counts on its card


def end_group(created: bool) -> None:
    if created:
        import torch.distributed as dist

        dist.destroy_process_group()
