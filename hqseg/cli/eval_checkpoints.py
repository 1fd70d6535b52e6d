"""Helpers of ``hqseg eval hq`` / ``hqseg eval coco``: loading one or several checkpoints
(the one place that calls :func:`~hqseg.cli.model_type.load_cli_predictor`), their output
units, the start-up line's data, the torchrun group's end, and the options of the
encoding cache and mixed precision."""

from __future__ import annotations

import re

import click

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


AMP_NAMES = ("bf16", "fp16")
_SIZE_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
               "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}  # fmt: skip


class ByteSize(click.ParamType):
    """A size such as ``20GB``, ``500MB``, ``1.5TiB`` or ``1000000`` (bytes) -> int bytes
    (K/M/G/T decimal, Ki/Mi/Gi/Ti binary; the B is optional)."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?)?B?\s*", str(value), re.IGNORECASE)
        if not match:
            self.fail(f"{value!r} is not a size such as 20GB, 500MB or 1.5TiB", param, ctx)
        number, unit = match.groups()
        return int(float(number) * _SIZE_UNITS[(unit or "").upper()])


def cache_options(func):
    """``--embeddings-cache DIR`` and ``--embeddings-cache-size SIZE``."""
    func = click.option(
        "--embeddings-cache-size", type=ByteSize(), default="20GB", show_default=True,
        help="Disk limit of --embeddings-cache; the oldest encodings are evicted beyond it.",
    )(func)  # fmt: skip
    return click.option(
        "--embeddings-cache", type=click.Path(file_okay=False), default=None,
        help="Folder keeping image encodings across commands (created with hqseg's marker; "
        "a folder that is not an hqseg encoding cache is refused, never emptied). Key: "
        "encoder weights' digest, geometry, image file sha256, numerics; a rerun encodes "
        "nothing and writes the same files.",
    )(func)  # fmt: skip


def open_cache(path, size):
    """The :class:`~hqseg.evaluation.encodings.EncodingCache` of ``--embeddings-cache``
    (entries on disk only: each image is encoded once per run anyway), or None."""
    if path is None:
        return None
    from hqseg.evaluation.encodings import EncodingCache

    return EncodingCache(path, memory_bytes=0, disk_bytes=size)


def cache_line(cache) -> str | None:
    """``"encodings: N computed, M from cache"`` of a run's cache, or None without one."""
    if cache is None:
        return None
    return f"encodings: {cache.misses} computed, {cache.hits} from cache ({cache.dir})"


def amp_settings(amp: str | None, bf16: bool, device: str):
    """``--amp`` and ``--bf16`` -> (bf16 for the whole model, autocast dtype of the encoder
    alone). On CUDA ``--amp`` runs the encoder under autocast; elsewhere ``--amp bf16`` is
    the model under bfloat16 autocast (``--bf16``, its old spelling) and fp16 is refused.

    Raises:
        HqsegError: both given, or ``--amp fp16`` without CUDA.
    """
    if amp is None:
        if bf16:
            _note_slow_cpu_bf16(device)
        return bf16, None
    import torch

    from hqseg.errors import HqsegError
    from hqseg.evaluation.image_encoder import AMP_DTYPES

    if bf16:
        raise HqsegError("give --amp bf16 or --bf16 (its old spelling), not both")
    if str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        return False, AMP_DTYPES[amp]
    if amp == "fp16":
        raise HqsegError("--amp fp16 needs a CUDA device; on the CPU use --amp bf16")
    _note_slow_cpu_bf16(device)
    return True, None


def _note_slow_cpu_bf16(device: str) -> None:
    """One line when bfloat16 would run on a CPU without native bfloat16 kernels (no
    AVX-512 BF16/AMX): torch then computes bfloat16 convolutions with its reference
    kernel, tens of times slower than float32 (40x for the test ViT on an AVX2 CPU)."""
    import torch

    if str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        return
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        click.echo(
            "note: this CPU has no native bfloat16 kernels; bf16 runs much slower than "
            "float32 here (same results within bf16 rounding)",
            err=True,
        )


def batch_options(func):
    """``--batch-size`` and ``--workers``."""
    func = click.option(
        "--workers", type=click.IntRange(min=0), default=0, show_default=True,
        help="DataLoader processes that read and decode the images (eval hq: and resize "
        "them to the model input) ahead of the model (0 = in this process).",
    )(func)  # fmt: skip
    return click.option(
        "--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
        help="Images per encoder call (the decoder takes each image's prompts in one call). "
        "Results equal one-at-a-time up to float32 rounding of the batched encoder.",
    )(func)  # fmt: skip


def amp_options(func):
    """``--amp bf16|fp16`` and the hidden ``--bf16`` (its old spelling)."""
    func = click.option(
        "--bf16", is_flag=True, hidden=True, help="Old spelling of --amp bf16 (the model)."
    )(func)
    return click.option(
        "--amp", type=click.Choice(sorted(AMP_NAMES)), default=None,
        help="Mixed precision. On CUDA: the image encoder under bf16/fp16 autocast (the "
        "decoder in float32). On the CPU: bf16 only, the whole model under bfloat16 "
        "autocast. The first batch is also encoded in float32 and the deviation printed.",
    )(func)  # fmt: skip
