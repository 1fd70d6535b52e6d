"""``hqseg eval hq`` and ``hqseg eval coco``: run SAM and HQ-SAM on benchmarks and score them."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import click

from hqseg.cli.model_type import (
    device_option,
    load_cli_predictor,
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
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Official sam_hq_vit_*.pth, a run's sam_hq_<type>.pth from `hqseg train`, or "
        "plain SAM (sam_vit_*.pth; HQ parts untrained); omitted = random weights (smoke runs: "
        "--random-weights, except for test_* types).",
    )
    @random_weights_option
    @device_option("auto = cuda if available (under torchrun: cuda:LOCAL_RANK).")
    @click.option("--bf16", is_flag=True, help="Run the model under bfloat16 autocast.")
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


def _provenance(model_type, checkpoint: str | None, data, specs=None, **params):
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
    help="Output folder: per_image.csv, metrics.json, masks.json, skipped.csv, "
    "provenance.json.",
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
@_model_options
def hq_command(
    data_dir,
    out_dir,
    splits,
    benchmarks,
    with_train,
    with_sam,
    resize_mode,
    model_type,
    checkpoint,
    random_weights,
    device,
    bf16,
    limit,
    progress,
):
    """HQ benchmarks: DIS-VD, COIFT, HRSOD, ThinObject-5K test (or your own set with
    --benchmark SPEC) with GT-box prompts.

    By default the HQ-SAM authors' protocol, image for image (see --resize-mode): the
    box is the tight box of the 1024x1024-resized GT > 128; HQ-SAM uses the HQ-token
    output, SAM its own decoder (no HQ token) on the same encoding; logits are upsampled
    to the GT size and thresholded at 0. Writes per-image mask IoU / boundary IoU and
    their means, in percent.
    """
    from hqseg.errors import HqsegError
    from hqseg.evaluation.hq_run import HQ_CONFIG, evaluate_hq_benchmarks
    from hqseg.modeling.startup import require_weights
    from hqseg.utils.outdir import check_replaceable

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    require_weights(model_type, checkpoint, random_weights)
    check_replaceable(Path(out_dir), "eval hq")  # before the model loads, not after the work
    if benchmarks and splits:
        raise HqsegError("give --split (a build's hq_eval splits) or --benchmark SPEC, not both")
    if with_train and not benchmarks:
        raise HqsegError("--with-train goes with --benchmark SPEC")
    if benchmarks:  # a bad spec fails before the model is loaded
        from hqseg.data.custom import parse_spec

        for spec in benchmarks:
            parse_spec(spec)
    provenance = _provenance(
        model_type, checkpoint, None if benchmarks else data_dir, list(benchmarks),
        **({"with_train": True} if with_train else {}), resize_mode=resize_mode,
        splits=list(splits), benchmarks=list(benchmarks), sam=with_sam, limit=limit,
        bf16=bf16, device=device,
    )  # fmt: skip
    if benchmarks:
        data = {"benchmarks": " ".join(benchmarks)}
    else:
        from hqseg.data.records import split_counts

        counts = split_counts(data_dir).get(HQ_CONFIG, {})
        counts = {k: n for k, n in counts.items() if not splits or k in splits}
        data = {HQ_CONFIG: counts} if counts else {"folder": data_dir}  # no counts on its card
    predictor = load_cli_predictor(model_type, checkpoint, device, bf16, resize_mode, data=data)
    mask_types = ("hq", "sam") if with_sam else ("hq",)
    if benchmarks:
        from hqseg.evaluation.custom_benchmark import evaluate_custom_benchmarks

        summary = evaluate_custom_benchmarks(predictor, benchmarks, out_dir,
                                             mask_types=mask_types, limit=limit,
                                             progress=progress, provenance=provenance,
                                             with_train=with_train, say=click.echo,
                                             protocol=resize_mode)  # fmt: skip
    else:
        summary = evaluate_hq_benchmarks(
            predictor,
            data_dir,
            out_dir,
            splits=splits or None,
            mask_types=mask_types,
            limit=limit,
            progress=progress,
            protocol=resize_mode,
            provenance=provenance,
        )
    click.echo(f"protocol {summary.get('protocol', resize_mode)}; mIoU and mBIoU in percent")
    for bench, models in summary.items():
        if not isinstance(models, dict):
            continue
        for model, m in models.items():
            click.echo(
                f"{bench:>8} {model:>7}: mIoU {m['mIoU']:6.2f} %  mBIoU {m['mBIoU']:6.2f} %"
                f"  ({m['n']} images)"
            )
    click.echo(f"wrote {Path(out_dir) / 'metrics.json'}")


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
    checkpoint,
    random_weights,
    device,
    bf16,
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
    from hqseg.modeling.startup import require_weights
    from hqseg.utils.outdir import check_replaceable

    if (detections is None) == (not oracle_boxes):
        raise HqsegError("give exactly one of --detections FILE or --oracle-boxes")
    require_weights(model_type, checkpoint, random_weights)
    check_replaceable(Path(out_dir), "eval coco")  # before the model loads, not after the work
    provenance = _provenance(
        model_type, checkpoint, annotations, annotations=annotations, images=images_dir,
        detections=detections, oracle_boxes=oracle_boxes, top_k=top_k, resize_mode=resize_mode,
        limit=limit, bf16=bf16, device=device,
    )  # fmt: skip
    created = init_from_env()
    try:
        data = {"annotations": Path(annotations).name, "prompts": detections or "GT boxes"}
        predictor = load_cli_predictor(model_type, checkpoint, device, bf16, resize_mode, data=data)
        metrics = evaluate_coco_models(
            predictor,
            annotations,
            images_dir,
            out_dir,
            detections=detections,
            top_k=top_k,
            limit=limit,
            progress=progress,
            provenance=provenance,
        )
    finally:
        if created:
            import torch.distributed as dist

            dist.destroy_process_group()
    if metrics is None:
        return
    for model in ("sam", "hq_sam"):
        m = metrics[model]
        click.echo(f"{model:>7}: AP {m['segm']['AP']:6.2f} %  AP_B {m['boundary']['AP']:6.2f} %")
    click.echo(f"wrote {Path(out_dir) / 'metrics.json'}")


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
