"""A contact sheet of the sample: per source, a few images with their mask outlines."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from hqseg.sample.content import Item
from hqseg.utils.atomic import write_bytes

TILE = 112
LABEL_W = 110


def _tile(item: Item) -> Image.Image:
    """The image with its mask outline (foreground = mask > 0) drawn in green."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(item.image))).convert("RGB")
    mask = Image.open(io.BytesIO(item.mask)).convert("L").point(lambda v: 255 if v else 0)
    inner = np.asarray(mask.filter(ImageFilter.MinFilter(5))) > 0
    edge = (np.asarray(mask) > 0) & ~inner
    rgb = np.asarray(image).copy()
    rgb[edge] = (0, 255, 0)
    out = Image.fromarray(rgb)
    out.thumbnail((TILE, TILE))
    return out


def write_preview(items: dict[str, list[Item]], path: Path, *, per_source: int = 4) -> None:
    """Write a PNG grid: one row per source, ``per_source`` valid pairs, mask outlines green."""
    rows = {s: [it for it in its if not it.bad][:per_source] for s, its in items.items()}
    sheet = Image.new("RGB", (LABEL_W + per_source * TILE, len(rows) * TILE), "white")
    pen = ImageDraw.Draw(sheet)
    for r, (source, its) in enumerate(rows.items()):
        pen.text((6, r * TILE + TILE // 2 - 6), source, fill="black")
        for c, it in enumerate(its):
            sheet.paste(_tile(it), (LABEL_W + c * TILE, r * TILE))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    write_bytes(path, buf.getvalue())
