"""``hqseg export``: HQ-SAM checkpoints to the official or transformers key layout."""

from __future__ import annotations

import click


@click.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--model-type",
    type=click.Choice(["vit_b", "vit_l", "vit_h", "tiny"]),
    default=None,
    help="Model type of CHECKPOINT; checked against its shapes (default: inferred from them).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["official", "transformers"]),
    default="official",
    show_default=True,
    help="'official': the flat sam_hq_vit_*.pth state dict that segment-anything-hq loads; "
    "'transformers': the same tensors under transformers' SamHQModel key names "
    "(a torch state dict for SamHQModel.load_state_dict).",
)
@click.option(
    "--hq-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="A file with only the 25 HQ parameters (e.g. from training) to put over "
    "CHECKPOINT, which is then the plain SAM checkpoint they were trained on.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output file, written atomically.",
)
def export(checkpoint: str, model_type: str | None, fmt: str, hq_weights: str | None, out: str):
    """Convert CHECKPOINT (an HQ-SAM checkpoint, or a SAM one with --hq-weights) for use
    elsewhere. Files are read with torch.load(weights_only=True)."""
    from hqseg.modeling.checkpoint import export_checkpoint

    report = export_checkpoint(
        checkpoint, out, model_type=model_type, fmt=fmt, hq_weights=hq_weights
    )
    click.echo(str(report))
    if report.hq_initialised_fresh:
        click.secho(
            "warning: the HQ parameters are untrained (random); pass --hq-weights", fg="yellow"
        )
    click.echo(f"wrote {out} ({fmt} format)")


COMMANDS: list = [export]
