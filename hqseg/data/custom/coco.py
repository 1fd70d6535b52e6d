"""``coco:ANNOTATIONS.json[:IMAGES_DIR]``: COCO instance annotations, one record per instance.

IMAGES_DIR defaults to the ``images`` folder next to the JSON if there is one, else
the JSON's own folder. Each annotation becomes one record with stem
``<image file stem>/<annotation id>`` (record id ``<name>/<image stem>/<annotation id>``),
its mask rendered at the size the JSON gives for the image: polygons (a list of
``[x0, y0, x1, y1, ...]`` rings, merged), compressed RLE (``counts`` a string) or
uncompressed RLE (``counts`` a list). All records go to split ``train`` unless
``split=`` says otherwise; ``min_area=`` counts pixels of the rendered mask (default
:data:`MIN_AREA`). Fewer than 6 numbers in a ring is ``degenerate``.

One clear error (nothing built): the file is unreadable or is not COCO (no
``images``/``annotations`` lists), or two images share an id. Listed rejects, one
per annotation: ``crowd`` (``iscrowd`` 1), ``unknown-image`` (``image_id`` not in
``images``), ``image-missing`` (file absent), ``duplicate-id`` (an annotation id
seen before), ``bad-polygon`` (an odd count of numbers, or non-numeric ones),
``bad-segmentation`` (missing, or RLE whose size differs from the image's),
``degenerate`` (renders to no pixel), ``out-of-image`` (a vertex or bbox corner more
than one pixel outside the image), ``too-small`` (fewer than ``min_area`` pixels).
An image whose file has another size than the JSON says is rejected by the common
size check (``size-mismatch``), like any pair. Each image entry is checked before any
of its annotations is rendered; its annotations are then rejected with the entry's
problem: ``bad-image-entry`` (``file_name`` not a string, ``height``/``width`` not
positive integers), ``unsafe-path`` (an absolute ``file_name`` or one with ``..``: it
would be read from outside IMAGES_DIR), ``too-large`` (``height`` x ``width`` above
:data:`hqseg.data.limits.MAX_PIXELS`, so nothing of that size is ever allocated).
RLE counts must be non-negative and cover exactly ``height`` x ``width`` pixels
(``bad-segmentation`` otherwise).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from numbers import Real
from pathlib import Path

import numpy as np

from hqseg.data.custom.base import CustomSource, files_fingerprint, png_bytes
from hqseg.data.custom.spec import SourceSpec, SpecError
from hqseg.data.extract import safe_relpath
from hqseg.data.limits import MAX_PIXELS
from hqseg.data.schema import Pair, Reject
from hqseg.utils.regular import is_regular

MIN_AREA = 16
_SLACK = 1.0  # pixels a vertex may lie outside the image before it is out-of-image


class _BadAnnotation(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class CocoSource(CustomSource):
    kind = "coco"

    def __init__(self, spec: SourceSpec, work_dir: Path) -> None:
        super().__init__(spec, work_dir)
        self.mask_type = "binary"  # rendered instance masks are 0/255
        self.annotations = Path(spec.location).expanduser()
        if not self.annotations.is_file():
            raise SpecError(f"{spec.text!r}: annotations file {self.annotations} not found")
        images = spec.extra[0] if spec.extra else ""
        default = self.annotations.parent
        if (default / "images").is_dir():
            default = default / "images"
        self.images_dir = Path(images).expanduser() if images else default
        if not self.images_dir.is_dir():
            raise SpecError(f"{spec.text!r}: images folder {self.images_dir} not found")
        self.split = spec.options.get("split", "train") or "train"
        try:
            self.min_area = int(spec.options.get("min_area", MIN_AREA))
        except ValueError:
            raise SpecError(f"{spec.text!r}: min_area= takes an integer") from None

    @property
    def root(self) -> Path:
        return self.images_dir

    def fingerprint(self) -> str:
        return files_fingerprint(self.annotations, self.images_dir)

    def _load(self) -> tuple[dict[int, dict], list]:
        where = str(self.annotations)
        try:
            data = json.loads(self.annotations.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SpecError(f"{where}: not a readable JSON file: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list) for k in ("images", "annotations")
        ):
            raise SpecError(
                f"{where}: not a COCO instances file (needs images and annotations lists)"
            )
        images: dict[int, dict] = {}
        for entry in data["images"]:
            if not isinstance(entry, dict) or not {"id", "file_name", "width", "height"} <= set(
                entry
            ):
                raise SpecError(
                    f"{where}: image entry {entry!r:.80} lacks id/file_name/width/height"
                )
            if not isinstance(entry["id"], int | str):
                raise SpecError(f"{where}: image id {entry['id']!r:.80} is not an integer")
            if entry["id"] in images:
                raise SpecError(f"{where}: image id {entry['id']!r} appears twice in images")
            images[entry["id"]] = entry
        return images, data["annotations"]

    def _image(self, entry: dict) -> tuple[Path, int, int]:
        """(file, height, width) of an image entry, checked before anything is allocated."""
        name, h, w = entry["file_name"], entry["height"], entry["width"]
        if not isinstance(name, str) or not name:
            raise _BadAnnotation("bad-image-entry", f"file_name must be a string, not {name!r:.60}")
        rel = safe_relpath(name)
        if rel is None:
            raise _BadAnnotation("unsafe-path", f"file_name {name!r} leaves the images folder")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (h, w)):
            raise _BadAnnotation(
                "bad-image-entry",
                f"height/width must be positive integers, not {h!r:.30}/{w!r:.30}",
            )
        if h * w > MAX_PIXELS:
            raise _BadAnnotation(
                "too-large", f"declared size {w}x{h} exceeds the limit of {MAX_PIXELS} pixels"
            )
        image = self.images_dir / rel
        if image.exists() and not is_regular(image):
            raise _BadAnnotation("special-file", f"image {rel} is not a regular file")
        if not image.is_file():
            raise _BadAnnotation("image-missing", f"image file {rel} not found")
        return image, h, w

    def iter_pairs(self, root: Path | None = None) -> Iterator[Pair | Reject]:
        images, annotations = self._load()
        seen: set = set()
        shown_json = self.annotations.name
        for index, ann in enumerate(annotations):
            ann_id = ann.get("id", f"#{index}") if isinstance(ann, dict) else f"#{index}"
            shown = f"{shown_json}#annotation={ann_id}"
            try:
                yield self._pair(ann, ann_id, images, seen, shown)
            except _BadAnnotation as bad:
                yield self.reject(shown, bad.reason, bad.detail)
        self.splits = (self.split,)

    def _pair(self, ann, ann_id, images, seen, shown) -> Pair:
        if not isinstance(ann, dict):
            raise _BadAnnotation("bad-segmentation", "annotation is not an object")
        if not isinstance(ann_id, int | str):
            detail = f"annotation id {ann_id!r:.60} is not an integer"
            raise _BadAnnotation("bad-segmentation", detail)
        if ann_id in seen:
            raise _BadAnnotation("duplicate-id", f"annotation id {ann_id!r} repeats")
        seen.add(ann_id)
        if ann.get("iscrowd", 0):
            raise _BadAnnotation("crowd", "crowd annotation (iscrowd=1)")
        image_id = ann.get("image_id")
        entry = images.get(image_id) if isinstance(image_id, int | str) else None
        if entry is None:
            raise _BadAnnotation("unknown-image", f"image_id {image_id!r:.60} not in images")
        image, h, w = self._image(entry)
        mask = self._render(ann, h, w)
        area = int(mask.sum())
        if area == 0:
            raise _BadAnnotation("degenerate", "segmentation covers no pixel")
        if area < self.min_area:
            raise _BadAnnotation("too-small", f"{area} px < min_area {self.min_area}")
        stem = f"{Path(image.relative_to(self.images_dir)).with_suffix('').as_posix()}/{ann_id}"
        # The annotation id names the derived file only through its hash: an id is user
        # text ("../x") and must not choose a path.
        key = hashlib.sha256(repr(ann_id).encode()).hexdigest()[:24]
        path = self.derived(f"coco/{key}.png", png_bytes(mask * np.uint8(255)), shown)
        return Pair(image, path, self.split, stem)

    def _render(self, ann: dict, h: int, w: int) -> np.ndarray:
        """The annotation's (H, W) uint8 0/1 mask."""
        from pycocotools import mask as mask_utils

        seg = ann.get("segmentation")
        self._check_bbox(ann.get("bbox"), h, w)
        if isinstance(seg, list):
            rings = self._polygons(seg, h, w)
            rle = mask_utils.merge(mask_utils.frPyObjects(rings, h, w))
        elif isinstance(seg, dict) and "counts" in seg and "size" in seg:
            if seg["size"] != [h, w]:
                raise _BadAnnotation(
                    "bad-segmentation", f"RLE size {seg['size']!r:.40} differs from image {[h, w]}"
                )
            self._check_counts(seg["counts"], h, w)
            try:
                if isinstance(seg["counts"], list):
                    rle = mask_utils.frPyObjects(seg, h, w)
                else:
                    counts = seg["counts"]
                    rle = {"size": [h, w], "counts": counts.encode() if isinstance(counts, str)
                           else counts}  # fmt: skip
                decoded = mask_utils.decode(rle)
            except (TypeError, ValueError, AttributeError) as exc:
                raise _BadAnnotation("bad-segmentation", f"RLE does not decode: {exc}") from None
            return decoded.astype(np.uint8)
        else:
            raise _BadAnnotation("bad-segmentation", "no polygon or RLE segmentation")
        return mask_utils.decode(rle).astype(np.uint8)

    @staticmethod
    def _check_counts(counts, h: int, w: int) -> None:
        """RLE run lengths must be non-negative and cover exactly h x w pixels (a decoder
        trusts them: longer runs would write past the mask)."""
        from hqseg.metrics.rle import rle_counts

        if isinstance(counts, list) and not all(
            isinstance(c, int) and not isinstance(c, bool) for c in counts
        ):
            raise _BadAnnotation("bad-segmentation", "RLE counts must be integers")
        if not isinstance(counts, list | str):
            raise _BadAnnotation("bad-segmentation", "RLE counts must be a list or a string")
        try:
            runs = rle_counts({"counts": counts})
        except (ValueError, IndexError, TypeError, UnicodeError, OverflowError):
            runs = None
        if runs is None or (runs < 0).any() or int(runs.sum()) != h * w:
            raise _BadAnnotation(
                "bad-segmentation", f"RLE counts are negative or do not cover {h}x{w} pixels"
            )

    @staticmethod
    def _polygons(seg: list, h: int, w: int) -> list[list[float]]:
        if not seg:
            raise _BadAnnotation("degenerate", "empty polygon list")
        rings = []
        for ring in seg:
            if not isinstance(ring, list) or not all(
                isinstance(v, Real) and math.isfinite(v) for v in ring
            ):
                raise _BadAnnotation("bad-polygon", "polygon holds non-numeric values")
            if len(ring) % 2:
                raise _BadAnnotation("bad-polygon", f"odd number of coordinates ({len(ring)})")
            if len(ring) < 6:
                raise _BadAnnotation("degenerate", f"polygon with {len(ring) // 2} point(s)")
            xs, ys = ring[0::2], ring[1::2]
            if (
                min(xs) < -_SLACK
                or min(ys) < -_SLACK
                or max(xs) > w + _SLACK
                or max(ys) > h + _SLACK
            ):
                raise _BadAnnotation("out-of-image", f"polygon leaves the {w}x{h} image")
            rings.append([float(v) for v in ring])
        return rings

    @staticmethod
    def _check_bbox(bbox, h: int, w: int) -> None:
        if not (
            isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, Real) for v in bbox)
        ):
            return  # the bbox is optional for us: the mask is what counts
        x, y, bw, bh = bbox
        if x < -_SLACK or y < -_SLACK or x + bw > w + _SLACK or y + bh > h + _SLACK:
            raise _BadAnnotation("out-of-image", f"bbox {bbox} leaves the {w}x{h} image")
