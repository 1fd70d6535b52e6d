"""``hqseg report``: Markdown and HTML report of evaluation results."""

from __future__ import annotations

import click


@click.command(name="report")
@click.option(
    "--results",
    "results_dir",
    default="eval",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="Results folder holding hq/ and/or coco/ from `hqseg eval hq|coco`.",
)
@click.option(
    "--out",
    "out_dir",
    default="eval/report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Report folder to (re)write: report.md, report.html, plots/, gallery/. An "
    "existing folder that `hqseg report` did not write is refused, never replaced.",
)
@click.option(
    "--base",
    default=None,
    help="Previous run to compare with, image by image: another results folder, "
    "or a git revision (its committed copy of --results is read).",
)
@click.option(
    "--paper",
    default=None,
    type=click.Path(dir_okay=False),
    help="Paper reference numbers (JSON). Default: eval/paper_reference.json when it "
    "exists; an empty string leaves the paper section out.",
)
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Build folder with the HQ images, for the overlay gallery (results of "
    "`eval hq --benchmark SPEC` read their images from the specs in their provenance; "
    "otherwise omitted: no gallery, and the report says so).",
)
@click.option(
    "--gallery-k",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many biggest wins and how many biggest losses to draw.",
)
@click.option("--seed", default=0, show_default=True, help="Bootstrap random seed.")
def report_command(results_dir, out_dir, base, paper, data_dir, gallery_k, seed):
    """Write the evaluation report (Markdown + HTML) and print its path.

    HQ benchmark table (SAM vs HQ-SAM), paired per-image differences with bootstrap
    95% CIs and win/loss/tie counts, COCO AP / AP_B, comparison with --base and with
    the paper, plots and an overlay gallery of the biggest wins and losses.
    """
    from hqseg.report import write_report
    from hqseg.report.paper import DEFAULT_PAPER

    if paper is None and DEFAULT_PAPER.is_file():
        paper = str(DEFAULT_PAPER)

    path = write_report(
        results_dir,
        out_dir,
        base=base,
        paper=paper or None,
        data_dir=data_dir,
        gallery_k=gallery_k,
        seed=seed,
    )
    click.echo(f"report: {path}")
    click.echo(f"html:   {path.with_suffix('.html')}")


COMMANDS = [report_command]
