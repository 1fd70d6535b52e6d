"""Helpers of ``hqseg eval hq`` / ``hqseg eval coco``: loading one or several checkpoints
(the one place that calls :func:`~hqseg.cli.model_type.load_cli_predictor`), their output
units, the start-up line's data and the torchrun group's end."""

from __future__ import annotations

from hqseg.cli.model_type import load_cli_predictor


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
