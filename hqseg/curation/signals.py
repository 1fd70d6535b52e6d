"""Image-only label-quality signals of one record: arrays in, floats out.

Every signal is a float in [0, 1], higher = more suspicious; :mod:`.scoring` turns them
into one score. All work happens on a working copy whose longest side is at most
:data:`WORK_SIDE` pixels (image and grey mask resized, mask > 128 after the resize), so
the cost per record is nearly independent of the image size. Features per pixel: RGB and
two texture channels (:func:`_features`).

The boundary signals read a *profile* across the boundary (:func:`boundary_profile`): at
every :data:`STRIDE`-th contour pixel, features sampled along the outward normal at
offsets ``-REACH .. REACH``, pooled with the neighbours along the contour.

* ``contrast``: the share of the boundary where the mean features of the
  :data:`BAND` samples just inside and just outside differ by less than their pooled
  standard deviation (plus a noise floor). A true object boundary separates two
  regions; a boundary drawn through one region does not.
* ``offset``: ``1 - mean(D(0) / max_d D(d))``, where ``D(d)`` is that inside/outside
  difference for the boundary displaced by d = -SHIFT..SHIFT pixels along the normal. A
  boundary on the object's edge has its maximum at d = 0; a shifted, grown or shrunk
  one elsewhere.
* ``coarse``: the share of the contour length on straight runs that a smooth curve of
  the object's size cannot produce (Douglas-Peucker segments, tolerance 1.5 px, longer
  than ``4 sqrt(R) + 4`` px for an object of equivalent radius R) *and* that lie on weak
  image contrast: a quick polygon cuts across the object, a straight real edge does not.
* ``border``: how far the foreground covers the image frame, 0 at half the frame or
  less, 1 at the whole frame: an inverted mask (background marked as object) covers it.
* ``pieces``: a separate piece or hole of the mask (any contour but the longest) whose
  own boundary lies mostly on flat image: blobs painted onto the background.
* ``fragments``: small disconnected pieces (under 2 % of the largest piece's area, at
  least 4 pixels at the working size): 0 for none, 1 for 4 or more.

Conventions: ``image`` is ``(H, W, 3)`` uint8 RGB (``(H, W)`` grey is accepted), ``mask``
is ``(H, W)`` uint8 grey levels, foreground > 128 (as evaluation thresholds it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hqseg.evaluation.boxes import GT_THRESHOLD

WORK_SIDE = 256
"""Longest side (pixels) of the working copy the signals are computed on."""
BAND = 3
"""Samples (pixels) on each side of the boundary whose mean colours are compared."""
ALONG = 4
"""Contour pixels on each side whose profiles are pooled with a pixel's profile."""
STRIDE = 2
"""Profiles are sampled at every STRIDE-th contour pixel (each stands for its neighbours)."""
SHIFT = 5
"""Largest boundary displacement (pixels at working size) tried by ``offset``."""
REACH = SHIFT + BAND
"""Profile half-length: samples at offsets -REACH..REACH along the outward normal."""
MIN_CONTOUR = 8
"""Contours shorter than this (pixels) are fragments, not profiled."""
PIECE_FULL = 40
"""Contour length (pixels) from which a secondary piece's weak share counts fully."""
NOISE_RGB = 2.0
"""Colour noise floor (RGB units, 0..255) added to the local texture, so flat regions with
JPEG noise alone do not count as separated by a 1-unit difference."""

TEXTURE_WEIGHT = 0.5
"""Scale of the two gradient-energy channels against RGB (a 3x3 Sobel response is up to 4x
the grey step; halved, a texture difference weighs about as much as a colour one)."""

IMAGE_SIGNALS = ("contrast", "offset", "coarse", "border", "fragments", "pieces")
"""Names of the image-only signals, in column order (``sig_<name>``)."""

_DISK = {r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)) for r in (1,)}


class SkipRecord(Exception):
    """A record the audit cannot score; the message is the listed reason."""


@dataclass(frozen=True)
class WorkCopy:
    """A record at working size.

    Attributes:
        feats: ``(h, w, 5)`` float32 (:func:`_features`): RGB 0..255 (Euclidean distances
            in RGB equal those of the opponent space (R-G, R+G-2B, R+G+B) it rotates
            to), then two texture channels.
        fg: ``(h, w)`` uint8, 1 = foreground.
    """

    feats: np.ndarray
    fg: np.ndarray


def work_copy(
    image: np.ndarray, mask: np.ndarray, image_size: tuple[int, int] | None = None
) -> WorkCopy:
    """Downsize a record to at most :data:`WORK_SIDE` and binarise its mask.

    Args:
        image_size: ``(width, height)`` of the stored image when ``image`` was decoded
            at a reduced size (a JPEG draft); None = ``image`` is full size.

    Raises:
        SkipRecord: sizes differ, or the mask is all one value (at full or working size).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    mask = np.asarray(mask)
    width, height = image_size or image.shape[1::-1]
    if mask.shape != (height, width):
        raise SkipRecord(f"mask size {mask.shape[::-1]} differs from image size {(width, height)}")
    if mask.min() == mask.max():
        raise SkipRecord(f"mask is all one value ({int(mask.min())})")
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if image.shape[1::-1] != size:
        image = cv2.resize(image, size, interpolation=_interpolation(image, size))
    if mask.shape[::-1] != size:
        mask = cv2.resize(mask, size, interpolation=_interpolation(mask, size))
    fg = (mask > GT_THRESHOLD).astype(np.uint8)
    count = int(fg.sum())
    if count == 0 or count == fg.size:
        what = "background" if count == 0 else "foreground"
        raise SkipRecord(f"mask is all {what} at 128 (grey levels only on one side)")
    return WorkCopy(_features(image), fg)


def _features(image: np.ndarray) -> np.ndarray:
    """``(h, w, 5)`` float32: RGB, then the local energy of horizontal and vertical grey
    gradients (absolute Sobel responses averaged over 5 x 5 pixels), so regions of one
    colour but different texture (stripes at another angle, grain) also differ."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    feats = np.empty((*image.shape[:2], 5), np.float32)
    feats[..., :3] = image
    for channel, dx in ((3, 1), (4, 0)):
        # |Sobel| / 4 saturated to uint8 (integer SIMD paths), then a 5 x 5 mean
        energy = cv2.convertScaleAbs(cv2.Sobel(grey, cv2.CV_16S, dx, 1 - dx, ksize=3), alpha=0.25)
        feats[..., channel] = cv2.blur(energy, (5, 5))
    feats[..., 3:] *= 4 * TEXTURE_WEIGHT
    return feats


def _interpolation(array: np.ndarray, size: tuple[int, int]) -> int:
    """Area averaging for reductions of 2x or more; bilinear (5x cheaper than OpenCV's
    area resize at fractional factors, and alias-free enough) for smaller ones."""
    return cv2.INTER_AREA if max(array.shape[:2]) >= 2 * max(size) else cv2.INTER_LINEAR


def _grow(fg: np.ndarray, d: int) -> np.ndarray:
    if d == 0:
        return fg
    op = cv2.dilate if d > 0 else cv2.erode
    return op(fg, _DISK[abs(d)], borderType=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class Boundary:
    """The mask's contours with a colour profile across each contour pixel.

    Attributes:
        contours: ``(n_i, 2)`` int32 ``(x, y)`` pixel chains, one per contour kept.
        weak: ``(N,)`` bool over all kept contour pixels in order: weak contrast at d=0.
        ratio: ``(N,)`` float32, ``D(0) / max_d D(d)`` (1 = the boundary is where the
            colour changes most).
        inner: ``(N,)`` bool, False on the image frame (no outside to compare with:
            there ``weak`` is False and ``ratio`` 1).
    """

    contours: list[np.ndarray]
    weak: np.ndarray
    ratio: np.ndarray
    inner: np.ndarray

    def share(self, values: np.ndarray) -> float:
        """Mean of ``values`` over the contour pixels off the frame (1.0 when none)."""
        n = int(self.inner.sum())
        return 1.0 if n == 0 else float(values[self.inner].sum() / n)


def _normals(contour: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """``(n, 2)`` unit normals of a closed ``(n, 2)`` pixel chain, pointing out of ``fg``."""
    c = contour.astype(np.float32)
    tangent = np.roll(c, -2, axis=0) - np.roll(c, 2, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-6)[:, None]
    probe = np.round(c + 2 * normal).astype(int)
    h, w = fg.shape
    inside = fg[np.clip(probe[:, 1], 0, h - 1), np.clip(probe[:, 0], 0, w - 1)]
    return -normal if inside.mean() > 0.5 else normal


def _smooth(values: np.ndarray, half: int) -> np.ndarray:
    """Circular moving mean along axis 0 over ``2 * half + 1`` neighbours."""
    n = values.shape[0]
    if n <= 2 * half + 1:
        return np.broadcast_to(values.mean(0, keepdims=True), values.shape)
    wrapped = np.concatenate([values[-half - 1 :], values, values[:half]])
    total = np.cumsum(wrapped, axis=0, dtype=np.float32)
    return (total[2 * half + 1 :] - total[: n]) / (2 * half + 1)


def _contrast_at_mask(colour: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(D(0), std)`` per contour pixel: mean colours of the :data:`BAND` samples inside
    and outside the boundary, each counting only samples on its own side of the mask
    (a structure thinner than the band is compared with itself, not with what lies
    beyond it), pooled along the contour; ``std``: their pooled texture + noise floor."""
    stats = []
    for cols, weight in (
        (slice(REACH - BAND + 1, REACH + 1), side[:, REACH - BAND + 1 : REACH + 1]),
        (slice(REACH + 1, REACH + BAND + 1), 1.0 - side[:, REACH + 1 : REACH + BAND + 1]),
    ):
        c, wt = colour[:, cols], weight[..., None]
        n = np.maximum(_smooth(wt.sum(1), ALONG // STRIDE), 1e-6)
        mean = _smooth((c * wt).sum(1), ALONG // STRIDE) / n
        var = _smooth((c * c * wt).sum(1), ALONG // STRIDE) / n - mean**2
        stats.append((mean, var))
    (m_in, v_in), (m_out, v_out) = stats
    diff = np.sqrt(((m_in - m_out) ** 2).sum(1))
    std = np.sqrt(np.maximum((v_in + v_out).sum(1) / 2, 0) + NOISE_RGB**2)
    return diff, std


def boundary_profile(work: WorkCopy) -> Boundary:
    """Colour profiles across the boundary (see the module doc, ``contrast``/``offset``).

    At each contour pixel, colours are sampled along the outward normal at offsets
    ``-REACH .. REACH`` and averaged with the ``2 * ALONG + 1`` neighbours along the
    contour. ``D(d)``: distance between the mean colour of the :data:`BAND` samples
    inside and outside a boundary displaced by ``d``.
    """
    contours, _ = cv2.findContours(work.fg, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    contours = [c[:, 0, :] for c in contours if len(c) >= MIN_CONTOUR]
    h, w = work.fg.shape
    t = np.arange(-REACH, REACH + 1, dtype=np.float32)
    weak, ratio, kept = [], [], []
    for c in contours:
        off_frame = (c[:, 0] > 0) & (c[:, 0] < w - 1) & (c[:, 1] > 0) & (c[:, 1] < h - 1)
        n = len(c)
        normals = _normals(c, work.fg)[::STRIDE]
        pos = c[::STRIDE, None, :] + t[None, :, None] * normals[:, None, :]
        xs = np.clip(np.round(pos[..., 0]).astype(int), 0, w - 1)
        ys = np.clip(np.round(pos[..., 1]).astype(int), 0, h - 1)
        colour = work.feats[ys, xs]  # (n, 2 * REACH + 1, 5)
        side = work.fg[ys, xs].astype(np.float32)  # (n, 2 * REACH + 1), 1 = foreground
        d0, std = _contrast_at_mask(colour, side)
        # D(d) for every displacement at once, from prefix sums over the offsets
        prefix = np.cumsum(_smooth(colour, ALONG // STRIDE), axis=1)
        prefix = np.concatenate([np.zeros_like(prefix[:, :1]), prefix], axis=1)
        at = REACH + np.array([d for d in range(-SHIFT, SHIFT + 1) if d])
        inner = prefix[:, at + 1] - prefix[:, at - BAND + 1]  # samples at-BAND+1 .. at
        outer = prefix[:, at + BAND + 1] - prefix[:, at + 1]  # samples at+1 .. at+BAND
        moved = np.sqrt(((inner - outer) ** 2).sum(-1)) / BAND  # (n, 2 * SHIFT)
        best = np.maximum(moved.max(1), d0)
        low = np.repeat(d0 < std, STRIDE)[:n]
        share = np.repeat(np.where(best > 0, d0 / np.maximum(best, 1e-6), 1.0), STRIDE)[:n]
        weak.append(low & off_frame)
        ratio.append(np.where(off_frame, share, 1.0))
        kept.append(off_frame)
    if not contours:
        none = np.zeros(0, bool)
        return Boundary([], none, none.astype(np.float32), none)
    return Boundary(
        contours,
        np.concatenate(weak),
        np.concatenate(ratio).astype(np.float32),
        np.concatenate(kept),
    )


def coarse_signal(boundary: Boundary) -> float:
    """Share of the contour length on long straight runs lying on weak contrast."""
    total = straight = 0.0
    start = 0
    for contour in boundary.contours:
        n = len(contour)
        weak = boundary.weak[start : start + n]
        start += n
        radius = np.sqrt(max(cv2.contourArea(contour), 1.0) / np.pi)
        longest = 4.0 * np.sqrt(radius) + 4.0
        poly = cv2.approxPolyDP(contour[:, None, :], 1.5, closed=True)[:, 0, :]
        index = {tuple(p): i for i, p in enumerate(contour.tolist())}
        corners = sorted(index[tuple(p)] for p in poly.tolist())
        total += int(boundary.inner[start - n : start].sum())
        for a, b in zip(corners, corners[1:] + [corners[0] + n], strict=True):
            length = float(np.hypot(*(contour[b % n] - contour[a])))
            if length > longest:
                straight += float(np.take(weak, np.arange(a, b), mode="wrap").sum())
    return 0.0 if total == 0 else min(1.0, straight / total)


def border_signal(fg: np.ndarray) -> float:
    """0 when the foreground covers at most half the image frame, 1 at all of it."""
    frame = np.concatenate([fg[0], fg[-1], fg[1:-1, 0], fg[1:-1, -1]])
    return float(np.clip((frame.mean() - 0.5) / 0.4, 0.0, 1.0))


def fragments_signal(fg: np.ndarray) -> float:
    """Small disconnected pieces: 0 for none, 0.25 per piece, 1 for four or more."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if n <= 2:
        return 0.0
    small = (areas < 0.02 * areas.max()) & (areas >= 4)
    return float(min(1.0, small.sum() / 4))


def pieces_signal(boundary: Boundary) -> float:
    """The worst-supported contour besides the longest: its share of weak contrast, scaled
    down for contours under :data:`PIECE_FULL` pixels (0 with a single contour)."""
    if len(boundary.contours) < 2:
        return 0.0
    lengths = [len(c) for c in boundary.contours]
    main = int(np.argmax(lengths))
    worst, start = 0.0, 0
    for i, n in enumerate(lengths):
        weak, kept = boundary.weak[start : start + n], boundary.inner[start : start + n]
        start += n
        if i != main and kept.any():
            worst = max(worst, float(weak[kept].mean()) * min(1.0, n / PIECE_FULL))
    return worst


def image_signals(
    image: np.ndarray, mask: np.ndarray, image_size: tuple[int, int] | None = None
) -> dict[str, float]:
    """All image-only signals of one record, keyed by :data:`IMAGE_SIGNALS`.

    Raises:
        SkipRecord: the record cannot be scored (see :func:`work_copy`).
    """
    work = work_copy(image, mask, image_size)
    boundary = boundary_profile(work)
    return {
        "contrast": boundary.share(boundary.weak),
        "offset": 1.0 - boundary.share(boundary.ratio),
        "coarse": coarse_signal(boundary),
        "border": border_signal(work.fg),
        "fragments": fragments_signal(work.fg),
        "pieces": pieces_signal(boundary),
    }
