"""``hqseg predict``: segment one image from boxes and points; write the mask (and overlay)."""

from __future__ import annotations

from pathlib import Path

import click

from hqseg.cli.model_type import (
    device_option,
    load_cli_predictor,
    model_type_option,
    random_weights_option,
)


class _Numbers(click.ParamType):
    """Comma-separated numbers, ``counts`` of them (e.g. ``x0,y0,x1,y1``)."""

    def __init__(self, name: str, counts: tuple[int, ...], form: str) -> None:
        self.name, self.counts, self.form = name, counts, form

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        try:
            numbers = tuple(float(p) for p in parts)
        except ValueError:
            numbers = ()
        if len(numbers) not in self.counts or not all(map(_finite, numbers)):
            self.fail(f"{value!r} is not a {self.name}; expected {self.form}", param, ctx)
        return numbers


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


BOX = _Numbers("box", (4,), "x0,y0,x1,y1 (pixels)")
POINT = _Numbers("point", (2, 3), "x,y or x,y,label (label 1 object, 0 background)")


def _check_outputs(image: str, out: str, overlay: str | None) -> None:
    """Outputs are PNG files, not folders, and never the input or each other."""
    from hqseg.errors import HqsegError

    paths = [("--out", out)] + ([("--overlay", overlay)] if overlay else [])
    for flag, path in paths:
        if Path(path).is_dir():
            raise HqsegError(f"{flag} {path}: is a folder; give a file name")
        if Path(path).suffix.lower() != ".png":
            raise HqsegError(f"{flag} {path}: must be a .png file")
        if Path(path).resolve() == Path(image).resolve():
            raise HqsegError(f"{flag} {path}: would overwrite the input image")
    if overlay and Path(out).resolve() == Path(overlay).resolve():
        raise HqsegError("--out and --overlay must be different files")


@click.command("predict")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="HQ-SAM, Light HQ-SAM or HQ-SAM 2 checkpoint (official or from `hqseg train`).",
)
@model_type_option("Model type (default: inferred from --checkpoint).")
@random_weights_option
@click.option("--box", "boxes", type=BOX, multiple=True, metavar="x0,y0,x1,y1",
              help="Box around an object, in pixels (repeatable: one object each).")  # fmt: skip
@click.option("--point", "points", type=POINT, multiple=True, metavar="x,y[,label]",
              help="A point on the object (label 1, default) or background (label 0); "
              "repeatable, with at most one --box.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(dir_okay=True),
              help="Mask PNG to write (0 / 255, the image's size), atomically.")  # fmt: skip
@click.option("--overlay", type=click.Path(dir_okay=True), default=None,
              help="Also write the image with the mask tinted and outlined (PNG).")  # fmt: skip
@click.option("--multimask", is_flag=True,
              help="SAM's part is its best of 3 candidate masks (by predicted IoU), as for "
              "ambiguous single clicks; default: its single-mask output.")  # fmt: skip
@click.option("--hq-token-only", is_flag=True,
              help="The HQ token's mask alone (the authors' choice for single objects with "
              "fine structure); default: SAM + HQ logits.")  # fmt: skip
@device_option("auto = cuda if available.")
def predict_command(image, checkpoint, model_type, random_weights, boxes, points, out, overlay,
                    multimask, hq_token_only, device):  # fmt: skip
    """Segment IMAGE from --box / --point prompts and write the mask as a PNG.

    \b
    hqseg predict photo.jpg --checkpoint sam_hq_vit_l.pth --box 40,30,420,380 \\
        --out mask.png --overlay overlay.png
    hqseg predict photo.jpg --checkpoint sam_hq_vit_l.pth --point 200,150 \\
        --point 50,40,0 --out mask.png

    Runs in the geometry of the authors' interactive predictor for the model's line (HQ-SAM
    and Light HQ-SAM: longest side resized to 1024, padded, as their SamPredictor;
    HQ-SAM 2: SAM 2's 1024x1024 resize, as their SAM2ImagePredictor). Coordinates are
    pixels of IMAGE as viewers show it (EXIF orientation applied).
    """
    from hqseg.errors import HqsegError
    from hqseg.modeling import interactive
    from hqseg.modeling.startup import require_weights

    if model_type is None and checkpoint is None:
        raise HqsegError("give --checkpoint FILE (or --model-type TYPE --random-weights)")
    require_weights(model_type, checkpoint, random_weights)
    _check_outputs(image, out, overlay)
    rgb = interactive.read_image(image)
    points = [p if len(p) == 3 else (*p, 1.0) for p in points]
    prompts = interactive.check_prompts(list(boxes), points, rgb.shape[:2])
    data = {"image": f"{rgb.shape[1]}x{rgb.shape[0]}", "boxes": len(boxes), "points": len(points)}
    # resize_mode None: the line's interactive geometry, as the authors' predictor for it
    predictor = load_cli_predictor(model_type, checkpoint, device, False, None, data=data)
    mask, scores = interactive.segment(
        predictor, rgb, prompts, multimask_output=multimask, hq_token_only=hq_token_only
    )
    interactive.write_png(out, mask)
    if overlay:
        interactive.write_png(overlay, interactive.overlay_image(rgb, mask))
    iou = ", ".join(f"{s:.3f}" for s in scores)
    click.echo(f"wrote {out} ({int(mask.sum())} of {mask.size} pixels; predicted IoU {iou})")
    if overlay:
        click.echo(f"wrote {overlay}")


COMMANDS: list = [predict_command]
