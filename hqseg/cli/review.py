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
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The page to (re)write, e.g. review.html. A file that `hqseg review` did not write "
    "is refused unless --force (`hqseg audit` already writes AUDIT_DIR/index.html).",
)
@click.option(
    "--force", is_flag=True, help="Overwrite --out even if hqseg review did not write it."
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
def review_cmd(audit_dir, data_dir, out_file, force, top, model_masks):
    """Write the review page of AUDIT_DIR/audit.csv's top suspects to --out.

    `hqseg audit` writes this page itself (AUDIT_DIR/index.html); use this command to draw
    another --top, or the masks of another model (--model-masks).

    One HTML file that works offline (thumbnails embedded): image, mask overlay, the
    score, each signal and the reasons; sortable by score and by each signal, filterable
    by source and by signal. Reviewed ids go into `hqseg build --exclude FILE`.
    """
    from pathlib import Path

    from hqseg.curation.review import read_model_masks, render_review_page
    from hqseg.utils.outfile import check_file_replaceable, owned_file

    check_file_replaceable(Path(out_file), "review", force=force)  # before the work
    masks = read_model_masks(model_masks) if model_masks else None
    html = render_review_page(Path(audit_dir) / "audit.csv", Path(data_dir), top, masks)
    with owned_file(out_file, "review", force=force) as tmp:
        tmp.write_text(html, encoding="utf-8")
    click.echo(f"review page: {out_file}")


COMMANDS = [review_cmd]
