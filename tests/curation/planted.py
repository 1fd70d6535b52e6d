"""Photo-like images with exact masks, and wrong masks planted on purpose.

Images: a background of random colour with a textured field (smoothed noise at a random
scale plus a random sinusoid), one or two smooth objects (random low-frequency Fourier
outlines) with their own colour and texture, anti-aliased edges, a random contrast
between object and background, JPEG-encoded and decoded (as real images arrive). Sizes
vary from 160 to 640 pixels a side; lighting gradients, half of the edges slightly
blurred. The exact mask is the objects' silhouette (0/255).

Planted kinds (:data:`KINDS`) are the label errors real datasets have.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

KINDS = ("shifted", "grown", "shrunk", "coarse", "other", "half", "blobs", "inverted")


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w) float32 texture of unit-ish amplitude: smoothed noise plus a sinusoid."""
    sigma = rng.uniform(0.7, 4.0)
    noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    noise /= noise.std() + 1e-6
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    freq, angle = rng.uniform(0.05, 0.5), rng.uniform(0, np.pi)
    wave = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)))
    mix = rng.uniform(0, 1)
    return mix * noise + (1 - mix) * wave


def _outline(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """(h, w) uint8 0/255 mask of one smooth closed shape drawn at 4x and area-reduced."""
    s = 4
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    r0 = scale * min(h, w)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    radius = np.ones_like(t)
    for k in range(2, 6):
        radius += rng.uniform(0, 0.25 / k * 2) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    aspect = rng.uniform(0.6, 1.4)
    pts = np.stack([cx + r0 * radius * np.cos(t) * aspect, cy + r0 * radius * np.sin(t)], 1)
    canvas = np.zeros((h * s, w * s), np.uint8)
    cv2.fillPoly(canvas, [np.round(pts * s).astype(np.int32)], 255, lineType=cv2.LINE_8)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)


def photo(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One image ``(H, W, 3)`` uint8 and its exact mask ``(H, W)`` uint8 0/255."""
    h, w = (int(v) for v in rng.integers(160, 641, size=2))
    bg_colour = rng.uniform(30, 220, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    shade = (rng.uniform(-40, 40) * xx + rng.uniform(-40, 40) * yy)[..., None]  # lighting
    bg = bg_colour + shade + rng.uniform(3, 35) * _texture(rng, h, w)[..., None] * rng.uniform(
        0.5, 1, 3
    )
    alpha = np.zeros((h, w), np.float32)
    img = bg
    for _ in range(int(rng.integers(1, 3))):
        soft = _outline(rng, h, w, rng.uniform(0.12, 0.3)).astype(np.float32) / 255
        if rng.random() < 0.5:  # a slightly out-of-focus edge
            soft = cv2.GaussianBlur(soft, (0, 0), rng.uniform(0.5, 1.5))
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        colour = np.clip(bg_colour + rng.uniform(25, 110) * direction, 0, 255)
        fg = colour + shade + rng.uniform(3, 35) * _texture(rng, h, w)[..., None]
        img = img * (1 - soft[..., None]) + fg * soft[..., None]
        alpha = np.maximum(alpha, soft)
    img = np.clip(img, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(75, 96)))
    img = np.asarray(Image.open(buf).convert("RGB"))
    return img, np.where(alpha > 0.5, 255, 0).astype(np.uint8)


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def plant(rng: np.random.Generator, kind: str, mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A wrong version of ``mask`` (0/255) of the given kind; ``other``: another image's mask."""
    h, w = mask.shape
    size = np.sqrt((mask > 0).sum() / np.pi)  # equivalent radius of the object
    step = max(2, int(round(rng.uniform(0.08, 0.2) * size)))
    if kind == "shifted":
        angle = rng.uniform(0, 2 * np.pi)
        move = np.float32([[1, 0, step * np.cos(angle)], [0, 1, step * np.sin(angle)]])
        return cv2.warpAffine(mask, move, (w, h), flags=cv2.INTER_NEAREST)
    if kind == "grown":
        return cv2.dilate(mask, _disk(step))
    if kind == "shrunk":
        return cv2.erode(mask, _disk(step))
    if kind == "coarse":
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        out = np.zeros_like(mask)
        for c in contours:
            eps = rng.uniform(0.015, 0.04) * cv2.arcLength(c, True)
            cv2.fillPoly(out, [cv2.approxPolyDP(c, eps, True)], 255)
        return out
    if kind == "other":
        return cv2.resize(other, (w, h), interpolation=cv2.INTER_NEAREST)
    if kind == "half":
        ys, xs = np.nonzero(mask)
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        side = (xx - xs.mean()) * np.cos(angle) + (yy - ys.mean()) * np.sin(angle) > 0
        return np.where(side, 0, mask).astype(np.uint8)
    if kind == "blobs":
        out = mask.copy()
        for _ in range(int(rng.integers(1, 4))):
            r = int(rng.uniform(0.2, 0.5) * size)
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (r, int(r * rng.uniform(0.5, 1.5)))
            cv2.ellipse(out, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1)
        return out
    if kind == "inverted":
        return (255 - mask).astype(np.uint8)
    raise ValueError(kind)


def planted_set(seed: int, n_clean: int, n_per_kind: int):
    """``[(image, mask, kind)]``: ``n_clean`` exact masks (kind ``""``) and ``n_per_kind``
    wrong ones of each kind, each on its own image."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_clean):
        img, mask = photo(rng)
        out.append((img, mask, ""))
    for kind in KINDS:
        for _ in range(n_per_kind):
            img, mask = photo(rng)
            _, other = photo(rng)
            out.append((img, plant(rng, kind, mask, other), kind))
    return out


def sample_style_set(seed: int, n_clean: int, n_per_kind: int):
    """As :func:`planted_set`, with the embedded sample's own drawing (hqseg.sample.draw:
    smooth gradient backgrounds, striped ellipses and polygons): a second generator, so
    the floors are not tuned to one."""
    from hqseg.sample import draw

    rng = np.random.default_rng(seed)

    def one():
        h, w = (int(v) for v in rng.integers(200, 400, size=2))
        masks = draw.object_masks(rng, h, w, n=int(rng.integers(1, 3)))
        return draw.composite(rng, draw.background(rng, h, w), masks), draw.binarize(
            draw.union(masks)
        )

    out = [(*one(), "") for _ in range(n_clean)]
    for kind in KINDS:
        for _ in range(n_per_kind):
            img, mask = one()
            out.append((img, plant(rng, kind, mask, one()[1]), kind))
    return out


def auc(scores_pos, scores_neg) -> float:
    """ROC-AUC as the Mann-Whitney rank statistic (ties count half)."""
    pos, neg = np.asarray(scores_pos, float), np.asarray(scores_neg, float)
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def recall_at_k(scores, is_planted) -> float:
    """Share of the planted records among the ``k`` highest scores, k = number planted."""
    scores, is_planted = np.asarray(scores, float), np.asarray(is_planted, bool)
    k = int(is_planted.sum())
    top = np.argsort(-scores, kind="stable")[:k]
    return float(is_planted[top].sum() / k)
