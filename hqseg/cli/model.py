"""``hqseg export``: HQ checkpoints to the official layout, transformers' names or ONNX."""

from __future__ import annotations

import click

from hqseg.cli.model_type import model_type_option


@click.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@model_type_option(
    "Model type of CHECKPOINT; checked against its shapes (default: inferred from them)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["official", "transformers", "onnx"]),
    default="official",
    show_default=True,
    help="'official': the flat sam_hq_vit_*.pth state dict that segment-anything-hq loads; "
    "'transformers': the same tensors under transformers' SamHQModel key names "
    "(a torch state dict for SamHQModel.load_state_dict; ViT types only); "
    "'onnx': prompt encoder + HQ mask decoder as an ONNX graph (inputs: image_embeddings, "
    "interm_embeddings, point_coords, point_labels, mask_input, has_mask_input; HQ-SAM 2: "
    "image_embed, high_res_feats_0, high_res_feats_1 instead of the first two; outputs: "
    "masks_hq, masks_sum, iou_predictions; see hqseg.modeling.onnx_export).",
)
@click.option(
    "--multimask-output",
    is_flag=True,
    help="ONNX only: SAM's part of the mask is its best multimask token (default: token 0).",
)
@click.option(
    "--hq-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="A file with only the HQ parameters (a run's hq_only.pth: HQ-SAM's 25, HQ-SAM 2's "
    "13) to put over CHECKPOINT, which is then the base checkpoint they were trained on.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output file, written atomically. An existing file is overwritten only if an "
    "earlier `hqseg export` wrote it (its marker .OUT.hqseg-output.json beside it) or with "
    "--force.",
)
@click.option(
    "--force", is_flag=True, help="Overwrite --out even if `hqseg export` did not write it."
)
def export(
    checkpoint: str,
    model_type: str | None,
    fmt: str,
    multimask_output: bool,
    hq_weights: str | None,
    out: str,
    force: bool,
):
    """Convert CHECKPOINT (an HQ checkpoint, or a base one with --hq-weights) for use
    elsewhere. Files are read with torch.load(weights_only=True)."""
    from hqseg.modeling.export import export_checkpoint
    from hqseg.modeling.startup import startup_line
    from hqseg.utils.outfile import owned_file

    def loaded(model) -> None:
        data = {"hq_weights": hq_weights} if hq_weights else None
        click.echo(startup_line(model, model_type=None, checkpoint=checkpoint, device="cpu",
                                data=data))  # fmt: skip

    with owned_file(out, "export", force=force) as tmp:
        report = export_checkpoint(
            checkpoint,
            tmp,
            model_type=model_type,
            fmt=fmt,
            hq_weights=hq_weights,
            multimask_output=multimask_output,
            on_loaded=loaded,
        )
    click.echo(str(report))
    if report.hq_initialised_fresh:
        click.secho(
            "warning: the HQ parameters are untrained (random); pass --hq-weights", fg="yellow"
        )
    click.echo(f"wrote {out} ({fmt} format)")


COMMANDS: list = [export]
