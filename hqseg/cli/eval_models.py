"""``hqseg eval hq`` and ``hqseg eval coco``: run SAM and HQ-SAM on benchmarks and score them."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import click

from hqseg.cli.eval_checkpoints import (
    amp_options,
    amp_settings,
    batch_options,
    cache_line,
    cache_options,
    end_group,
    hq_data,
    load_checkpoints,
    open_cache,
    output_units,
)
from hqseg.cli.model_type import (
    device_option,
    model_type_option,
    random_weights_option,
)
from hqseg.modeling.model_types import DEFAULT_MODEL_TYPE


def _model_options(func):
    """The options every model-running command shares."""

    @model_type_option(
        "HQ model type (test_* = small random encoders, for tests); default: inferred "
        f"from --checkpoint, else {DEFAULT_MODEL_TYPE}."
    )
    @click.option(
        "--checkpoint",
        "checkpoints",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Official sam_hq_vit_*.pth, a run's sam_hq_<type>.pth from `hqseg train`, or "
        "plain SAM (sam_vit_*.pth; HQ parts untrained); omitted = random weights (smoke runs: "
        "--random-weights, except for test_* types). Repeatable, for checkpoints that share "
        "one image encoder (checked by digest; others are refused): each image is encoded "
        "once, each checkpoint's results go to --out/<file stem>, the SAM baseline to "
        "--out/sam.",
    )
    @random_weights_option
    @device_option("auto = cuda if available (under torchrun: cuda:LOCAL_RANK).")
    @amp_options
    @cache_options
    @click.option(
        "--limit",
        type=click.IntRange(min=1),
        default=None,
        help="Evaluate only the first N images (per benchmark); for smoke runs.",
    )
    @click.option(
        "--progress/--no-progress", default=True, show_default=True, help="Show progress bars."
    )
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def _resize_option(default: str):
    return click.option(
        "--resize-mode",
        type=click.Choice(["square", "longest_side"]),
        default=default,
        show_default=True,
        help="Evaluation geometry: 'square' = the HQ-SAM authors' protocol (image and mask "
        "resized to 1024x1024 ignoring aspect, image truncated to uint8, box from the "
        "resized mask, logits upsampled straight to the GT size); 'longest_side' = SAM's "
        "resize + padding, the original box scaled, SAM's postprocess.",
    )


def _echo_hq(summary: dict, protocol: str) -> None:
    click.echo(f"protocol {summary.get('protocol', protocol)}; mIoU and mBIoU in percent")
    for bench, models in summary.items():
        if not isinstance(models, dict):
            continue
        for model, m in models.items():
            click.echo(
                f"{bench:>8} {model:>7}: mIoU {m['mIoU']:6.2f} %  mBIoU {m['mBIoU']:6.2f} %"
                f"  ({m['n']} images)"
            )


def _provenance(model_type, checkpoint, data, specs=None, **params):
    """What produced this run's numbers, for ``provenance.json`` (see hqseg.provenance).

    The model type is recorded as evaluated: the option, else the type inferred from the
    checkpoint (a :class:`~hqseg.modeling.checkpoint.Checkpoint`, read once for this and
    the model; a foreign one is reported by the loader after this, so here it leaves the
    type None), else the default.
    """
    from hqseg.errors import HqsegError
    from hqseg.provenance import collect_provenance

    if model_type is None and checkpoint is None:
        model_type = DEFAULT_MODEL_TYPE
    elif model_type is None:
        try:
            model_type = checkpoint.model_type
        except (HqsegError, ValueError):
            model_type = None
    return collect_provenance(
        model_type=model_type, checkpoint=checkpoint, params=params, data_dir=data, specs=specs
    )


def _unit_provenance(model_type, checkpoints, units, data, specs=None, **params):
    """``provenance`` of each checkpoint: one dict for a single one, else ``{unit: dict}``
    (the baseline unit ``sam`` records the first checkpoint)."""
    first = checkpoints[0] if checkpoints else None
    if len(checkpoints) <= 1:
        return _provenance(model_type, first, data, specs, **params)
    from hqseg.evaluation.heads import BASELINE_UNIT

    out = {u: _provenance(model_type, c, data, specs, **params)
           for u, c in zip(units, checkpoints, strict=True)}  # fmt: skip
    out[BASELINE_UNIT] = out[units[0]]
    return out


@click.command(name="hq")
@click.option(
    "--data",
    "data_dir",
    default="data/hqseg44k",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Build folder from `hqseg build` (its hq_eval config is read); unused with --benchmark.",
)
@click.option(
    "--out",
    "out_dir",
    default="eval/hq",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder: per_image.csv, metrics.json, masks.json, skipped.csv, provenance.json.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    type=click.Choice(["dis_vd", "coift", "hrsod", "thin"]),
    help="Benchmark(s) to run (repeatable); default: every one the build has.",
)
@click.option(
    "--sam/--no-sam",
    "with_sam",
    default=True,
    show_default=True,
    help="Also score plain SAM (its own decoder on the same encoding) as the baseline.",
)
@click.option(
    "--benchmark",
    "benchmarks",
    multiple=True,
    metavar="SPEC",
    help="Score your own set instead of the build's hq_eval (repeatable): folder:PATH, "
    "coco:ANNOTATIONS.json[:IMAGES_DIR] or hf:NAME_OR_PATH[:CONFIG][:SPLIT] (options after "
    "'?', as for `hqseg build --add`). Each evaluation split (not in the spec's train=, "
    "default train) is one benchmark, <name>_<split>; training splits are left out unless "
    "--with-train, or unless they are all the set has. Prints what it scored.",
)
@click.option(
    "--with-train",
    is_flag=True,
    help="With --benchmark: also score the spec's training splits, each as a benchmark.",
)
@_resize_option("square")
@batch_options
@_model_options
def hq_command(
    data_dir, out_dir, splits, benchmarks, with_train, with_sam, resize_mode, batch_size,
    workers, model_type, checkpoints, random_weights, device, bf16, amp, embeddings_cache,
    embeddings_cache_size, limit, progress,
):  # fmt: skip
    """HQ benchmarks: DIS-VD, COIFT, HRSOD, ThinObject-5K test (or your own set with
    --benchmark SPEC) with GT-box prompts.

    By default the HQ-SAM authors' protocol, image for image (see --resize-mode): the
    box is the tight box of the 1024x1024-resized GT > 128; HQ-SAM uses the HQ-token
    output, SAM its own decoder (no HQ token) on the same encoding; logits are upsampled
    to the GT size and thresholded at 0. Writes per-image mask IoU / boundary IoU and
    their means, in percent. Run under torchrun to shard images over ranks.
    """
    from hqseg.errors import HqsegError
    from hqseg.evaluation.distributed import init_from_env
    from hqseg.evaluation.hq_run import evaluate_hq_benchmarks
    from hqseg.modeling.checkpoint import read_checkpoint
    from hqseg.modeling.startup import require_weights
    from hqseg.utils.outdir import check_replaceable

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    require_weights(model_type, checkpoints[0] if checkpoints else None, random_weights)
    check_replaceable(Path(out_dir), "eval hq")  # before the model loads, not after the work
    units = output_units(checkpoints, out_dir)
    if benchmarks and splits:
        raise HqsegError("give --split (a build's hq_eval splits) or --benchmark SPEC, not both")
    if with_train and not benchmarks:
        raise HqsegError("--with-train goes with --benchmark SPEC")
    bf16, amp_dtype = amp_settings(amp, bf16, device)
    cache = open_cache(embeddings_cache, embeddings_cache_size)
    if benchmarks:  # a bad spec fails before the model is loaded
        from hqseg.data.custom import parse_spec

        for spec in benchmarks:
            parse_spec(spec)
    checkpoints = tuple(read_checkpoint(c) for c in checkpoints)  # each read once
    provenance = _unit_provenance(
        model_type, checkpoints, units, None if benchmarks else data_dir, list(benchmarks),
        **({"with_train": True} if with_train else {}), resize_mode=resize_mode,
        splits=list(splits), benchmarks=list(benchmarks), sam=with_sam, limit=limit,
        bf16=bf16, device=device, **({"batch_size": batch_size} if batch_size > 1 else {}),
        **({"amp": amp} if amp_dtype else {}),
    )  # fmt: skip
    mask_types = ("hq", "sam") if with_sam else ("hq",)
    created = init_from_env()
    try:
        run = load_checkpoints(model_type, checkpoints, units, device, bf16, resize_mode,
                    hq_data(data_dir, splits, benchmarks))  # fmt: skip
        shared = dict(mask_types=mask_types, limit=limit, progress=progress,
                      protocol=resize_mode, provenance=provenance, checkpoints=run,
                      batch_size=batch_size, workers=workers, encodings=cache, amp=amp_dtype,
                      say=click.echo)  # fmt: skip
        if benchmarks:
            from hqseg.evaluation.custom_benchmark import evaluate_custom_benchmarks

            summary = evaluate_custom_benchmarks(None, benchmarks, out_dir, **shared,
                                                 with_train=with_train)  # fmt: skip
        else:
            summary = evaluate_hq_benchmarks(None, data_dir, out_dir, splits=splits or None,
                                             **shared)  # fmt: skip
    finally:
        end_group(created)
    if summary is None:  # not rank 0
        return
    for unit, part in summary.items() if units != [""] else [("", summary)]:
        click.echo(f"{unit}:" if unit else "", nl=bool(unit))
        _echo_hq(part, resize_mode)
    if cache is not None:
        click.echo(cache_line(cache))
    click.echo(f"wrote {Path(out_dir) / 'metrics.json' if units == [''] else out_dir}")


@click.command(name="coco")
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="COCO instances JSON (e.g. instances_val2017.json).",
)
@click.option(
    "--images",
    "images_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder holding the images named by the annotations' file_name.",
)
@click.option(
    "--detections",
    type=click.Path(dir_okay=False),
    default=None,
    help="Detector boxes in COCO results format (image_id, category_id, "
    "bbox XYWH, score), e.g. the FocalNet-DINO output.",
)
@click.option(
    "--oracle-boxes",
    is_flag=True,
    help="Prompt with the GT boxes (non-crowd) instead of a detections file.",
)
@click.option(
    "--top-k",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Detections kept per image, highest scores first.",
)
@click.option(
    "--out",
    "out_dir",
    default="eval/coco",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder: results_sam.json, results_hq_sam.json, metrics.json, provenance.json.",
)
@_resize_option("longest_side")
@batch_options
@_model_options
def coco_command(
    annotations,
    images_dir,
    detections,
    oracle_boxes,
    top_k,
    out_dir,
    resize_mode,
    model_type,
    checkpoints,
    random_weights,
    device,
    bf16,
    amp,
    embeddings_cache,
    embeddings_cache_size,
    batch_size,
    workers,
    limit,
    progress,
):
    """COCO with box prompts: mask AP and boundary AP (percent) of SAM and HQ-SAM.

    Each image is encoded once and all its boxes decoded together. SAM: its own decoder
    (no HQ token), mask token 0; HQ-SAM: SAM + HQ logits (multimask off). Run under
    torchrun to shard images over ranks; rank 0 gathers and writes.
    """
    from hqseg.errors import HqsegError
    from hqseg.evaluation.coco import evaluate_coco_models
    from hqseg.evaluation.distributed import init_from_env
    from hqseg.modeling.checkpoint import read_checkpoint
    from hqseg.modeling.startup import require_weights
    from hqseg.utils.outdir import check_replaceable

    if (detections is None) == (not oracle_boxes):
        raise HqsegError("give exactly one of --detections FILE or --oracle-boxes")
    require_weights(model_type, checkpoints[0] if checkpoints else None, random_weights)
    bf16, amp_dtype = amp_settings(amp, bf16, device)
    cache = open_cache(embeddings_cache, embeddings_cache_size)
    check_replaceable(Path(out_dir), "eval coco")  # before the model loads, not after the work
    units = output_units(checkpoints, out_dir)
    checkpoints = tuple(read_checkpoint(c) for c in checkpoints)  # each read once
    provenance = _unit_provenance(
        model_type, checkpoints, units, annotations, annotations=annotations,
        images=images_dir, detections=detections, oracle_boxes=oracle_boxes, top_k=top_k,
        resize_mode=resize_mode, limit=limit, bf16=bf16, device=device,
        **({"batch_size": batch_size} if batch_size > 1 else {}),
        **({"amp": amp} if amp_dtype else {}),
    )  # fmt: skip
    created = init_from_env()
    try:
        data = {"annotations": Path(annotations).name, "prompts": detections or "GT boxes"}
        run = load_checkpoints(model_type, checkpoints, units, device, bf16, resize_mode, data)
        metrics = evaluate_coco_models(None, annotations, images_dir, out_dir,
                                       detections=detections, top_k=top_k, limit=limit,
                                       progress=progress, provenance=provenance,
                                       checkpoints=run, batch_size=batch_size,
                                       workers=workers, encodings=cache, amp=amp_dtype,
                                       say=click.echo)  # fmt: skip
    finally:
        end_group(created)
    if metrics is None:
        return
    for unit, part in metrics.items() if units != [""] else [("", metrics)]:
        for model in ("sam", "hq_sam"):
            if model in part:
                m = part[model]
                click.echo(f"{unit + ' ' if unit else ''}{model:>7}: AP {m['segm']['AP']:6.2f}"
                           f" %  AP_B {m['boundary']['AP']:6.2f} %")  # fmt: skip
    if cache is not None:
        click.echo(cache_line(cache))
    click.echo(f"wrote {Path(out_dir) / 'metrics.json' if units == [''] else out_dir}")


@click.command(name="coco-sample")
@click.option(
    "--out",
    "out_dir",
    default="data/coco_sample",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to (re)write: images/, annotations/, detections.json.",
)
@click.option("--seed", default=0, show_default=True, help="Random seed of the generator.")
def coco_sample_command(out_dir, seed):
    """Generate a small COCO-format set and a detections file (for `hqseg eval coco`)."""
    from hqseg.sample.coco import write_coco_sample

    paths = write_coco_sample(Path(out_dir), seed=seed)
    click.echo(json.dumps({k: str(v) for k, v in paths.items()}, indent=2))


COMMANDS = [hq_command, coco_command, coco_sample_command]
