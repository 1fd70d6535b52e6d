"""``hqseg audit``: score every record of a build for "this mask is probably wrong"."""

from __future__ import annotations

import click

from hqseg.cli.model_type import device_option, model_type_option, random_weights_option


@click.command(name="audit")
@click.argument("data_dir", metavar="DATA", type=click.Path(file_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to (re)write: audit.csv, summary.json, index.html. An existing folder that "
    "`hqseg audit` did not write is refused, never replaced.",
)
@click.option("--config", default=None, help="Audit one config of the build (default: all).")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Audit only records of this source (repeatable).",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Add the model signal: any HQ-SAM line's checkpoint (HQ-SAM, Light HQ-SAM, "
    "HQ-SAM 2), prompted with each mask's box by the authors' protocol. --model-type "
    "alone: random weights (test_* types, or --random-weights; such a model gets weight 0).",
)
@model_type_option("Model type of --checkpoint (default: inferred from the file).")
@random_weights_option
@device_option("the model signal's.", default="cpu")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for the image signals (default: all usable cores).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="Review threshold: records scoring at least this are counted per source in "
    "summary.json.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="How many suspects, by score, the review page DIR/index.html shows.",
)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Show progress."
)
def audit_command(
    data_dir, out_dir, config, sources, checkpoint, model_type, random_weights, device, workers,
    threshold, top, progress,
):  # fmt: skip
    """Score every record of build DATA; write DIR/audit.csv, summary.json, index.html.

    audit.csv: one row per record, most suspicious first: id, source, split, score
    (0..1, higher = more likely a wrong mask; comparable across records), rank, reasons
    (in words), then sig_<name> per signal (0..1, higher = more suspicious) and, with
    --checkpoint, iou_model and biou_model. Records that cannot be scored (a mask all
    one value, an undecodable file) are listed in summary.json with the reason.
    index.html: the review page of the top suspects (self-contained, offline), with the
    model's mask beside the record's when --checkpoint is given.
    """
    from pathlib import Path

    from hqseg.curation.audit import run_audit, write_audit
    from hqseg.curation.review import write_review_page
    from hqseg.utils.outdir import check_replaceable, output_dir

    check_replaceable(Path(out_dir), "audit")  # before the work, not after it
    predictor = None
    if checkpoint is not None or model_type is not None:
        from hqseg.cli.model_type import load_cli_predictor
        from hqseg.modeling.startup import require_weights

        require_weights(model_type, checkpoint, random_weights)
        predictor = load_cli_predictor(
            model_type, checkpoint, str(device), bf16=False, resize_mode="square",
            data={"build": str(data_dir)},
        )  # fmt: skip
    result = run_audit(
        data_dir,
        config=config,
        sources=tuple(sources),
        workers=workers,
        threshold=threshold,
        predictor=predictor,
        progress=progress,
    )
    with output_dir(out_dir, "audit", manifest=True) as tmp:
        audit_csv = write_audit(result, tmp)
        write_review_page(
            audit_csv, Path(data_dir), Path(tmp), top, model_masks=result.model_masks or None
        )
    s = result.summary
    click.echo(
        f"audit: {s['records_scored']} records scored, {s['records_skipped']} skipped, "
        f"{s['above_threshold']} at or above {threshold:g}"
    )
    click.echo(f"wrote {out_dir}/audit.csv, summary.json and the review page {out_dir}/index.html")


COMMANDS = [audit_command]
