"""``hqseg eval results``: mask AP and boundary AP of an existing COCO results file."""

from __future__ import annotations

from pathlib import Path

import click

_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command(name="results")
@click.option(
    "--gt",
    "gt_path",
    required=True,
    type=_FILE,
    help="COCO ground-truth JSON (e.g. instances_val2017.json): images with height and "
    "width, annotations with segmentation, area and iscrowd, categories.",
)
@click.option(
    "--results",
    "results_path",
    required=True,
    type=_FILE,
    help="COCO segm results JSON: a list of {image_id, category_id, score, segmentation} "
    "with RLE segmentations of the image size.",
)
@click.option(
    "--out",
    type=_FILE,
    default=None,
    help='Also write the stats as JSON, {"unit": "percent", iou_type: {stat: value}} '
    "keyed by 'segm' and 'boundary' (percent, -1 = undefined; written atomically). An "
    "existing file is overwritten only if an earlier `hqseg eval results` wrote it (its "
    "marker .OUT.hqseg-output.json beside it) or with --force.",
)
@click.option(
    "--force", is_flag=True, help="Overwrite --out even if `hqseg eval results` did not write it."
)
@click.option(
    "--iou-type",
    "iou_types",
    multiple=True,
    type=click.Choice(["segm", "boundary"]),
    default=("segm", "boundary"),
    show_default=True,
    help="Which AP to compute; repeat the option for both.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for the boundary pass [default: all cores, once the pass has 40,000 "
    "annotations or more (below, a pool costs more CPU than it saves); 1 = serial].",
)
@click.option(
    "--dilation-ratio",
    type=click.FloatRange(min=0.0, min_open=True),
    default=0.02,
    show_default=True,
    help="Boundary width d as a fraction of the image diagonal (Boundary IoU uses 0.02).",
)
def results_command(
    gt_path: Path,
    results_path: Path,
    out: Path | None,
    iou_types: tuple[str, ...],
    workers: int | None,
    dilation_ratio: float,
    force: bool,
) -> None:
    """Score a COCO segm results file: mask AP (segm) and boundary AP (boundary).

    Prints the 12 COCO summary stats per IoU type, in percent (-1: no ground truth).
    segm equals pycocotools' COCOeval; boundary equals the official boundary-iou-api
    (min of mask and boundary IoU for non-crowd ground truth, crowd regions as in mask
    AP). Input is checked first (types, sizes, RLE counts): a bad entry is one error line.

    \b
    Example:
      hqseg eval results --gt instances_val2017.json \\
          --results segm_results.json --out eval/coco_stats.json
    """
    from hqseg.metrics import evaluate_coco, format_stats
    from hqseg.metrics.units import stats_to_percent, with_unit
    from hqseg.utils.outfile import check_file_replaceable, write_owned_json
    from hqseg.utils.procs import reap_fork_server

    if out is not None:
        check_file_replaceable(out, "eval results", force=force)  # before the work
    try:
        stats = evaluate_coco(
            gt_path,
            results_path,
            tuple(dict.fromkeys(iou_types)),
            workers=workers,
            dilation_ratio=dilation_ratio,
        )
    finally:
        reap_fork_server()  # the pool workers' CPU then counts in this command's (time)
    stats = {t: stats_to_percent(v) for t, v in stats.items()}
    click.echo("COCO stats in percent (-1: no ground truth for the stat)")
    click.echo(format_stats(stats))
    if out is not None:
        write_owned_json(out, with_unit(stats), "eval results", force=force)
        click.echo(f"wrote {out}")


COMMANDS: list = [results_command]
