"""``hqseg review``: the self-contained review page of an audit's top suspects."""

from __future__ import annotations

import click


@click.command("review")
@click.argument("audit_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The build folder the audit scored (images and masks are read from it).",
)
@click.option(
    "--top",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many suspects, by score, the page shows.",
)
@click.option(
    "--model-masks",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON object: record id -> the model's mask as COCO RLE ({size: [h, w], counts}), "
    "drawn beside the record's mask.",
)
def review_cmd(audit_dir, data_dir, top, model_masks):
    """Write AUDIT_DIR/index.html: the top suspects of AUDIT_DIR/audit.csv to review.

    One HTML file that works offline (thumbnails embedded): image, mask overlay, the
    score, each signal and the reasons; sortable by score and by each signal, filterable
    by source and by signal. Reviewed ids go into `hqseg build --exclude FILE`.
    """
    from pathlib import Path

    from hqseg.curation.review import read_model_masks, write_review_page

    masks = read_model_masks(model_masks) if model_masks else None
    path = write_review_page(
        Path(audit_dir) / "audit.csv", Path(data_dir), Path(audit_dir), top, model_masks=masks
    )
    click.echo(f"review page: {path}")


COMMANDS = [review_cmd]
