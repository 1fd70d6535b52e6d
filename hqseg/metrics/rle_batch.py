"""COCO RLEs decoded many at a time: run lengths, and boundary bands on tight crops.

:mod:`hqseg.metrics.rle` decodes one RLE with a dozen numpy calls; for the short
strings of COCO masks (about 150 characters) that call overhead is most of the cost.
Here the strings of many RLEs are joined and decoded with the same dozen calls in
total, and their masks are expanded into tight bounding-box crops by one scatter
into a shared buffer. Numbers are those of the one-at-a-time functions (and of
pycocotools' string format): ``counts_many(x)[i]`` equals ``rle_counts(x[i])`` for
valid RLEs, and :func:`boundary_bands` equals ``crop_boundary(rle_to_crop(r), d)``.

Conventions: as :mod:`hqseg.metrics.rle` (column-major runs; crops are
:class:`~hqseg.metrics.rle.Crop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from hqseg.metrics.rle import Crop

_KERNEL = np.ones((3, 3), np.uint8)
# largest scatter buffer (pixels of padded crops) filled at once
_BUFFER_PIXELS = 1 << 23


def _segmented_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarting where ``group`` (sorted) changes."""
    if values.size == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    before = (total - values)[starts]
    return total - np.repeat(before, np.diff(np.r_[starts, values.size]))


def _decode_strings(
    chars: np.ndarray, ends: np.ndarray, corrupt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths of the joined strings ``chars`` (string i ends at ``ends[i]``).

    Each value is 5 bits a character, low bits first, 0x20 marking "more follows"; the
    last character's 0x10 bit is the sign. Sets ``corrupt`` for strings that end inside
    a value, hold a character outside '0'..'o' or a value wider than 7 characters (35
    bits; counts are 32-bit). Returns ``(values, values per string)``.
    """
    starts = ends - np.diff(ends, prepend=0)
    nonempty = ends > starts
    odd = np.flatnonzero((chars < 48) | (chars > 111))
    if odd.size:
        corrupt[np.searchsorted(ends, odd, side="right")] = True
    c = chars - np.uint8(48)
    term = c < 32  # no "more follows" bit (a foreign character is flagged above)
    corrupt[nonempty] |= ~term[ends[nonempty] - 1]
    term[ends[nonempty] - 1] = True  # a value never runs into the next string
    last = np.flatnonzero(term)
    first = np.r_[0, last[:-1] + 1]
    width = last - first + 1
    corrupt[np.searchsorted(ends, last[width > 7], side="right")] = True
    values = (c[first] & 0x1F).astype(np.int64)
    for k in range(1, min(int(width.max()), 7)):  # the rare wide values, a digit at a time
        wide = np.flatnonzero(width > k)
        values[wide] |= (c[first[wide] + k] & 0x1F).astype(np.int64) << (5 * k)
    negative = np.flatnonzero(c[last] & 0x10)
    values[negative] -= np.left_shift(1, 5 * np.minimum(width[negative], 7))
    # values per string, and the global index of each string's first value
    done = np.searchsorted(last, ends - 1, side="right")
    per_string = np.diff(done, prepend=0)
    begin = done - per_string
    # from the fourth value on, each is a delta to the value two places before: running
    # sums over every other value, restarted per string (its first value is absolute)
    y = values.copy()
    y[begin[per_string > 0]] = 0
    run = np.empty_like(y)
    np.cumsum(y[0::2], out=run[0::2])
    np.cumsum(y[1::2], out=run[1::2])
    # what each chain's sums carried in from earlier strings: for values of the string
    # start's parity, the sum at the start (its own value was zeroed); for the others,
    # the sum just before it
    at = np.minimum(begin, y.size - 1)  # (a string without values gathers nothing)
    own, before = run[at], np.where(begin > 0, run[np.maximum(begin - 1, 0)], 0)
    even_start = begin % 2 == 0
    carry = np.empty_like(y)
    carry[0::2] = np.repeat(np.where(even_start, own, before), per_string)[0::2]
    carry[1::2] = np.repeat(np.where(even_start, before, own), per_string)[1::2]
    out = run - carry
    out[begin[per_string > 0]] = values[begin[per_string > 0]]
    return out, per_string


def counts_many(counts: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run lengths of many RLE ``counts`` (compressed str/bytes, or lists of ints).

    Returns:
        ``(values, bounds, corrupt)``: RLE i's run lengths are
        ``values[bounds[i]:bounds[i + 1]]`` (int64); ``corrupt[i]`` is True when its
        string ends inside a value, holds a character outside pycocotools' alphabet
        ('0' to 'o') or a value too wide for 32 bits (the run lengths are then meaningless).
    """
    n = len(counts)
    raw, lists = counts, {}
    if not all(type(c) is str for c in counts):  # else: one join and one encode below
        raw = []
        for i, c in enumerate(counts):
            if isinstance(c, list):
                lists[i] = np.asarray(c, np.int64)
                raw.append(b"")
            else:
                raw.append(c.encode("ascii") if isinstance(c, str) else bytes(c))
    lengths = np.fromiter(map(len, raw), np.int64, n)
    joined = "".join(raw).encode("ascii") if raw is counts else b"".join(raw)
    chars = np.frombuffer(joined, np.uint8)
    corrupt = np.zeros(n, bool)
    if chars.size:
        out, per_string = _decode_strings(chars, np.cumsum(lengths), corrupt)
    else:
        out, per_string = np.zeros(0, np.int64), np.zeros(n, np.int64)
    if lists:  # uncompressed counts (crowd GT): splice them in
        bounds = np.r_[0, np.cumsum(per_string)]
        pieces = [lists[i] if i in lists else out[bounds[i] : bounds[i + 1]] for i in range(n)]
        per_string = np.array([p.size for p in pieces], np.int64)
        out = np.concatenate(pieces).astype(np.int64)
    return out, np.r_[0, np.cumsum(per_string)], corrupt


def totals(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum of each RLE's run lengths (pixels covered) from :func:`counts_many`."""
    csum = np.r_[0, np.cumsum(values)]
    return csum[bounds[1:]] - csum[bounds[:-1]]


@dataclass(frozen=True)
class Segments:
    """Many RLE masks as runs of ones cut at column ends, and their tight boxes.

    Segment k is rows ``[row_s[k], row_e[k])`` of column ``col[k]`` of mask ``who[k]``
    (sorted by mask, then column, then row). Mask i (image ``hw[i]``) has ones iff
    ``has[i]``; its box is rows ``[r0[i], r1[i])``, columns ``[c0[i], c1[i])`` (all 0
    when empty).
    """

    hw: np.ndarray
    who: np.ndarray
    col: np.ndarray
    row_s: np.ndarray
    row_e: np.ndarray
    has: np.ndarray
    r0: np.ndarray
    r1: np.ndarray
    c0: np.ndarray
    c1: np.ndarray


def column_segments(rles: Sequence[dict]) -> Segments:
    """:class:`Segments` of pycocotools RLE dicts (valid, compressed or not)."""
    n = len(rles)
    hw = np.array([[int(s) for s in r["size"]] for r in rles], np.int64).reshape(n, 2)
    values, bounds, _ = counts_many([r["counts"] for r in rles])
    owner = np.repeat(np.arange(n), np.diff(bounds))
    local = np.arange(values.size) - bounds[owner]
    start = _segmented_cumsum(values, owner) - values  # first pixel of each run
    ones = np.flatnonzero((local % 2 == 1) & (values > 0))
    s, e, who = start[ones], start[ones] + values[ones], owner[ones]
    h = hw[who, 0]
    # split runs into one segment per image column they cover
    col_s, col_e = s // h, (e - 1) // h
    span = col_e - col_s + 1
    seg_run = np.repeat(np.arange(s.size), span)
    col = col_s[seg_run] + (np.arange(seg_run.size) - np.repeat(np.cumsum(span) - span, span))
    row_s = np.maximum(s[seg_run] - col * h[seg_run], 0)
    row_e = np.minimum(e[seg_run] - col * h[seg_run], h[seg_run])
    seg_who = who[seg_run]
    has = np.bincount(seg_who, minlength=n) > 0
    c0 = np.zeros(n, np.int64)
    c1, r0, r1 = c0.copy(), c0.copy(), c0.copy()
    if seg_who.size:
        firsts = np.flatnonzero(np.r_[True, seg_who[1:] != seg_who[:-1]])
        c0[has] = np.minimum.reduceat(col, firsts)
        c1[has] = np.maximum.reduceat(col, firsts) + 1
        r0[has] = np.minimum.reduceat(row_s, firsts)
        r1[has] = np.maximum.reduceat(row_e, firsts)
    return Segments(hw, seg_who, col, row_s, row_e, has, r0, r1, c0, c1)


def boundary_bands(rles: Sequence[dict], d: Sequence[int] | int) -> list[Crop]:
    """Boundary band of width d of each RLE mask, on its tight bounding-box crop.

    The band is the mask minus its erosion by a (2d+1)-square after one pixel of zero
    padding (FACTS §4); pixels outside the box are background, so eroding the padded
    box equals the crop of the full-image erosion. Empty masks give empty crops.

    Args:
        rles: pycocotools RLE dicts (valid, compressed or not).
        d: band width per RLE, or one for all.
    """
    n = len(rles)
    if n == 0:
        return []
    d = np.broadcast_to(np.asarray(d, np.int64), (n,))
    sg = column_segments(rles)
    hw, has, seg_who, col, row_s, row_e = sg.hw, sg.has, sg.who, sg.col, sg.row_s, sg.row_e
    c0, r0 = sg.c0, sg.r0
    # padded crops stored transposed: (columns + 2) x (rows + 2), C order
    pc, pr = sg.c1 - c0 + 2, sg.r1 - r0 + 2
    size = np.where(has, pc * pr, 0)
    out: list[Crop] = [
        Crop(0, 0, np.zeros((0, 0), np.uint8), (int(hw[i, 0]), int(hw[i, 1])), 0) for i in range(n)
    ]
    order = np.flatnonzero(has)
    pos = 0
    while pos < order.size:
        take = np.cumsum(size[order[pos:]]) <= max(_BUFFER_PIXELS, size[order[pos]])
        batch = order[pos : pos + int(take.sum())]
        pos += batch.size
        base = np.zeros(n, np.int64)
        base[batch] = np.cumsum(size[batch]) - size[batch]
        in_batch = np.zeros(n, bool)
        in_batch[batch] = True
        k = in_batch[seg_who]
        w = seg_who[k]
        offset = base[w] + (col[k] - c0[w] + 1) * pr[w] + (row_s[k] - r0[w] + 1)
        diff = np.zeros(int(size[batch].sum()) + 1, np.int8)
        diff[offset] = 1
        diff[offset + row_e[k] - row_s[k]] -= 1
        flat = np.cumsum(diff[:-1], dtype=np.int8).view(np.uint8)
        for i in batch:
            block = flat[base[i] : base[i] + size[i]].reshape(pc[i], pr[i])
            band = block - cv2.erode(block, _KERNEL, iterations=int(d[i]))
            inner = band[1:-1, 1:-1].T  # (rows, columns) of the tight box
            size_i = (int(hw[i, 0]), int(hw[i, 1]))
            out[i] = Crop(int(r0[i]), int(c0[i]), inner, size_i, int(np.count_nonzero(band)))
    return out
