"""Resource limits on inputs, checked before the work they would bound.

* :data:`MAX_PIXELS`: the largest image a declared size (COCO ``height``/``width``)
  may describe. It is Pillow's own decompression-bomb threshold (twice
  ``PIL.Image.MAX_IMAGE_PIXELS``, 178,956,970 pixels, e.g. 13,377 x 13,377): larger
  images would be refused by the decoder anyway, and a declared size is checked
  against it before any mask of that size is allocated or rendered.
* Extraction limits (:class:`ExtractLimits`): bytes per member and per archive, and
  the expansion ratio (uncompressed / compressed) per member and per archive, checked
  against the sizes an archive declares *and* against the bytes actually written.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PIXELS = 178_956_970

MiB, GiB = 1 << 20, 1 << 30
_UNITS = {"": 1, "K": 1 << 10, "M": MiB, "G": GiB, "T": 1 << 40}

#: A zip or tar inside an archive is unwrapped this many levels deep at most (a lone
#: ``X.zip`` in ``X.zip.zip``); a deeper one is the listed reject ``nested-archive``.
MAX_NESTING = 2


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds on what one archive may expand to.

    Attributes:
        member_bytes: largest uncompressed member (default 4 GiB; the largest image
            of the public sources is a few tens of MB).
        archive_bytes: largest total uncompressed size of one archive, nested
            archives included (default 64 GiB; the largest source archive expands
            to under 10 GiB).
        ratio: largest expansion ratio, uncompressed / compressed bytes, of a zip
            member and of a whole archive (default 200: image data compresses a few
            times at most, a bomb of zeros about 1000 times by deflate and millions
            of times by bzip2/xz).
        ratio_min_bytes: the ratio is only checked above this uncompressed size
            (default 16 MiB), so that a small, very regular file (a plain BMP mask
            of one colour) is never refused.
    """

    member_bytes: int = 4 * GiB
    archive_bytes: int = 64 * GiB
    ratio: float = 200.0
    ratio_min_bytes: int = 16 * MiB


DEFAULT_EXTRACT_LIMITS = ExtractLimits()


def parse_size(text: str) -> int:
    """``"300M"`` -> 314572800 (binary units K, M, G, T; a plain number is bytes).

    Raises:
        ValueError: not a positive size, with a message that says what is expected.
    """
    value = str(text).strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _UNITS and value[-1:] else ""
    number = value[: len(value) - len(unit)]
    try:
        size = float(number) * _UNITS[unit]
    except ValueError:
        size = -1.0
    if not (size >= 1 and size < 1 << 62):
        raise ValueError(f"expected a size such as 500M, 4G or 1048576 bytes, not {text!r}")
    return int(size)


class Budget:
    """What one extraction (the archive and any archive unwrapped from it) may still
    write, and the checks of each member and archive against :class:`ExtractLimits`."""

    def __init__(self, limits: ExtractLimits, archive: str) -> None:
        self.limits, self.archive, self.written = limits, archive, 0

    def _ratio_over(self, size: int, packed: int) -> bool:
        lim = self.limits
        return packed > 0 and size > lim.ratio_min_bytes and size > lim.ratio * packed

    def archive_problem(self, declared: int, packed: int) -> str:
        """Why an archive declaring ``declared`` bytes in ``packed`` is refused ("" if not)."""
        lim = self.limits
        if self.written + declared > lim.archive_bytes:
            return (
                f"expands to {declared} bytes, over the limit of {lim.archive_bytes} "
                "(--max-archive-bytes raises it)"
            )
        if self._ratio_over(declared, packed):
            return (
                f"expands {declared / packed:.0f} times ({packed} -> {declared} bytes), over the "
                f"ratio limit of {lim.ratio:g}: a decompression bomb? (--max-ratio raises it)"
            )
        return ""

    def member_problem(self, size: int, packed: int) -> tuple[str, str] | None:
        """(reason, detail) refusing one member by its declared sizes, or None."""
        lim = self.limits
        if size > lim.member_bytes:
            detail = f"{size} bytes, over the limit of {lim.member_bytes} (--max-member-bytes)"
            return "too-large", detail
        if self._ratio_over(size, packed):
            detail = (
                f"expands {size / packed:.0f} times ({packed} -> {size} bytes), over the ratio "
                f"limit of {lim.ratio:g} (--max-ratio)"
            )
            return "compression-bomb", detail
        return None

    def cap(self) -> int:
        """Most bytes the next member may really write (its declared size may lie)."""
        return min(self.limits.member_bytes, self.limits.archive_bytes - self.written)
