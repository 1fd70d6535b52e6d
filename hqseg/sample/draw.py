"""Synthetic images and masks: a smooth textured background and 1-3 distinct objects.

All arrays are uint8; images (H, W, 3) RGB, masks (H, W) grey levels 0..255.
Objects are drawn at 4x and downsampled, so masks have anti-aliased grey edges;
:func:`binarize` gives 0/255 masks. A model can learn these: objects differ from
the background in colour and texture.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

SUPER = 4


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth gradient with a low-frequency sinusoidal texture, (H, W, 3) uint8."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 140, size=3)
    slope = rng.uniform(-0.3, 0.3, size=(2, 3))
    freq = rng.uniform(0.03, 0.08, size=2)
    wave = 12 * np.sin(xx * freq[0] + yy * freq[1])[..., None]
    img = base + xx[..., None] * slope[0] + yy[..., None] * slope[1] + wave
    return np.clip(img, 0, 255).astype(np.uint8)


def _shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, h: int, w: int, thin: bool):
    s = SUPER
    cx, cy = rng.uniform(0.25, 0.75) * w * s, rng.uniform(0.25, 0.75) * h * s
    if thin:
        pts, angle = [], rng.uniform(0, 2 * np.pi)
        x, y = cx, cy
        for _ in range(12):
            angle += rng.uniform(-0.6, 0.6)
            x = float(np.clip(x + np.cos(angle) * 0.08 * w * s, 0, w * s - 1))
            y = float(np.clip(y + np.sin(angle) * 0.08 * h * s, 0, h * s - 1))
            pts.append((x, y))
        draw.line([(cx, cy), *pts], fill=255, width=int(rng.integers(2, 5) * s))
        return
    rx, ry = rng.uniform(0.12, 0.3) * w * s, rng.uniform(0.12, 0.3) * h * s
    if rng.random() < 0.5:
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    else:
        n = int(rng.integers(3, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(0.6, 1.0, n)
        pts = [
            (cx + rx * r * np.cos(a), cy + ry * r * np.sin(a))
            for a, r in zip(ang, rad, strict=True)
        ]
        draw.polygon(pts, fill=255)


def object_masks(
    rng: np.random.Generator, h: int, w: int, *, n: int = 1, thin: bool = False
) -> list[np.ndarray]:
    """``n`` anti-aliased object silhouettes, each (H, W) uint8 0..255."""
    out = []
    for _ in range(n):
        canvas = Image.new("L", (w * SUPER, h * SUPER), 0)
        _shape(ImageDraw.Draw(canvas), rng, h, w, thin)
        out.append(np.asarray(canvas.resize((w, h), Image.Resampling.BOX)))
    return out


def composite(rng: np.random.Generator, bg: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """Paint each mask's object over ``bg`` in a distinct, striped colour."""
    img = bg.astype(np.float32)
    h, w = bg.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for m in masks:
        colour = (bg.reshape(-1, 3).mean(0) + 128 + rng.uniform(-40, 40, 3)) % 256
        stripes = 20 * np.sin((xx + yy) * rng.uniform(0.3, 0.6))[..., None]
        fg = np.clip(colour + stripes, 0, 255)
        a = (m.astype(np.float32) / 255.0)[..., None]
        img = img * (1 - a) + fg * a
    return np.clip(img, 0, 255).astype(np.uint8)


def binarize(mask: np.ndarray) -> np.ndarray:
    """0/255 version of a grey mask (threshold >127)."""
    return np.where(mask > 127, 255, 0).astype(np.uint8)


def union(masks: list[np.ndarray]) -> np.ndarray:
    """Pixel-wise max of masks."""
    return np.maximum.reduce(masks)


def encode(array: np.ndarray, fmt: str, *, mode: str | None = None, **kw) -> bytes:
    """Encode an array as ``fmt`` ("JPEG"/"PNG"), converting to ``mode`` first if given."""
    img = Image.fromarray(array)
    if mode is not None and mode != img.mode:
        img = img.convert(mode) if mode != "P" else img.quantize(colors=64, dither=0)
    buf = io.BytesIO()
    if fmt == "JPEG":
        kw.setdefault("quality", 90)
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def exif_rotated_jpeg(array: np.ndarray) -> bytes:
    """JPEG whose stored pixels are ``array`` turned 90° counter-clockwise, tagged
    Orientation=6 ("rotate 90° clockwise to display"), so applying EXIF gives ``array``."""
    img = Image.fromarray(np.ascontiguousarray(np.rot90(array, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, exif=exif)
    return buf.getvalue()
