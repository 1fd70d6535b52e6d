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

GiB = 1 << 30


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds on what one archive may expand to.

    Attributes:
        member_bytes: largest uncompressed member (default 4 GiB; DIS5K's largest
            image is a few tens of MB).
        archive_bytes: largest total uncompressed size of one archive (default
            64 GiB; the largest source archive expands to under 10 GiB).
        ratio: largest expansion ratio, uncompressed / compressed, of one member
            and of the whole archive (default 200; image data compresses a few
            times at most, a zip bomb of zeros by about 1000).
    """

    member_bytes: int = 4 * GiB
    archive_bytes: int = 64 * GiB
    ratio: float = 200.0


DEFAULT_EXTRACT_LIMITS = ExtractLimits()
