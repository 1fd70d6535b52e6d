"""The ``hqseg eval`` group: scoring results files, HQ benchmarks and COCO."""

from __future__ import annotations

import click

from hqseg.cli import eval_models, eval_results


@click.group(name="eval")
def eval_group() -> None:
    """Score segmentation results.

    \b
    results  score an existing COCO results file (mask AP and boundary AP)
    hq       HQ benchmarks (DIS-VD, COIFT, HRSOD, ThinObject-5K test) with GT boxes
    coco     COCO with detector-box (or GT-box) prompts
    """


for _command in eval_results.COMMANDS + eval_models.COMMANDS:
    eval_group.add_command(_command)

COMMANDS = [eval_group]
