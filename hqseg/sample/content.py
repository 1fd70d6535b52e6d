"""What the sample holds: per source, the items (image, mask, split, stem) and the
planted problems, independent of any archive layout (see :mod:`.layouts`).

Every item knows the reject reason the pipeline must give (``bad``), or the fix it
must apply and keep the pair (``quirk``). Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hqseg.sample import draw

# reject reasons the pipeline must produce for planted files
TRUNCATED_IMAGE = "truncated-image"
UNREADABLE_MASK = "unreadable-mask"
EMPTY_MASK = "empty-mask"
SIZE_MISMATCH = "size-mismatch"
MASK_MISSING = "mask-missing"
LIST_ENTRY_MISSING = "list-entry-missing"
UNSAFE_PATH = "unsafe-path"

DUTS_MISMATCH_NAME = "ILSVRC2014_train_00023530"
FSS_CLASSES = ("abacus", "banana_boat", "peregine_falcon", "wandering_albatross")


@dataclass(frozen=True)
class Item:
    """One planted image/mask pair.

    Attributes:
        image, mask: encoded file bytes; ``mask`` None means no mask file exists.
        ext: image file extension (``.jpg``, ``.jpeg``, ``.png``).
        bad: reject reason the pipeline must give, or ``""`` for a valid pair.
        quirk: a fix the pipeline must apply while keeping the pair, or ``""``.
        repack_mask: mask bytes in the repack, if they differ (HRSOD masks_max255).
        in_repack: False for items only the original release has.
    """

    source: str
    split: str
    stem: str
    image: bytes
    mask: bytes | None
    ext: str = ".jpg"
    category: str = ""
    bad: str = ""
    quirk: str = ""
    repack_mask: bytes | None = None
    in_repack: bool = True

    @property
    def id(self) -> str:
        return f"{self.source}/{self.stem}"


class _Maker:
    """Draws random pairs for one source from its own seeded generator."""

    def __init__(self, seed: int, source: str):
        self.rng = np.random.default_rng([seed, *source.encode()])

    def arrays(self, *, thin: bool = False, n: int | None = None):
        h, w = (int(v) for v in self.rng.integers(96, 193, size=2))
        n = int(self.rng.integers(1, 4)) if n is None else n
        masks = draw.object_masks(self.rng, h, w, n=n, thin=thin)
        img = draw.composite(self.rng, draw.background(self.rng, h, w), masks)
        return img, masks

    def pair(self, source: str, split: str, stem: str, *, soft: bool = False, **kw) -> Item:
        img, masks = self.arrays(thin=soft)
        mask = draw.union(masks) if soft else draw.binarize(draw.union(masks))
        return Item(source, split, stem, draw.encode(img, "JPEG"), draw.encode(mask, "PNG"), **kw)


def _many(mk: _Maker, source: str, split: str, stems: list[str], **kw) -> list[Item]:
    return [mk.pair(source, split, s, **kw) for s in stems]


def _truncated(item: Item) -> Item:
    return replace(item, image=item.image[: len(item.image) // 2], bad=TRUNCATED_IMAGE)


def build_items(seed: int = 0, scale: int = 1) -> dict[str, list[Item]]:
    """All sample items by source; ``scale`` multiplies the number of ordinary pairs.

    Each source draws from its own seeded generator; MSRA10K and DUTS copy a record of
    the source before them (an exact and a near duplicate).
    """
    n = max(1, scale)
    items = {
        "dis5k": _dis5k(seed, n),
        "thinobject5k": _thinobject5k(seed, n),
        "fss1000": _fss1000(seed, n),
        "ecssd": _ecssd(seed, n),
    }
    items["msra10k"] = _msra10k(seed, n, items["ecssd"])
    items["duts"] = _duts(seed, n, items["msra10k"])
    items["dut_omron"] = _dut_omron(seed, n)
    items["coift"] = _coift(seed, n)
    items["hrsod"] = _hrsod(_Maker(seed, "hrsod"), 6 * n)
    return items


def _dis5k(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "dis5k")
    dis_name = "{}#Misc#{}#Thing#{}".format
    val = _many(mk, "dis5k", "val", [dis_name(i, 2, 2000 + i) for i in range(6 * n)])
    train = _many(mk, "dis5k", "train", [dis_name(i, 1, 1000 + i) for i in range(10 * n)])
    train[0] = _truncated(train[0])
    leak = replace(val[0], split="train", stem=dis_name(99, 1, 1999))
    tests = [
        it
        for k in range(1, 5)
        for it in _many(
            mk, "dis5k", f"te{k}", [dis_name(i, k + 2, 3000 + 10 * k + i) for i in range(3 * n)]
        )
    ]
    return train + [leak] + val + tests


def _thinobject5k(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "thinobject5k")
    thin = {
        s: _many(mk, "thinobject5k", s, [f"{s}_{i:04d}" for i in range(c * n)], soft=True)
        for s, c in (("train", 10), ("val", 3), ("test", 6))
    }
    thin["val"] = [replace(it, in_repack=False) for it in thin["val"]]
    return thin["train"] + thin["val"] + thin["test"]


def _fss1000(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "fss1000")
    fss = []
    for cls in FSS_CLASSES:
        for i in range(1, 3 * n + 1):
            item = mk.pair("fss1000", "train", f"{cls}/{i}", category=cls)
            if cls == "abacus" and i % 2:
                img, masks = mk.arrays()
                rgb_mask = np.repeat(draw.binarize(draw.union(masks))[..., None], 3, axis=2)
                item = replace(
                    item,
                    image=draw.encode(img, "JPEG"),
                    mask=draw.encode(rgb_mask, "PNG"),
                    quirk="three-channel-mask",
                )
            if cls in ("banana_boat", "wandering_albatross") and i == 2:
                item = replace(item, ext=".jpeg", quirk="stray-jpeg-kept")
            if cls == "peregine_falcon" and i == 3:
                item = replace(item, mask=item.mask[: len(item.mask) // 3], bad=UNREADABLE_MASK)
            fss.append(item)
    return fss


def _ecssd(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "ecssd")
    ecssd = _many(mk, "ecssd", "train", [f"{i:04d}" for i in range(1, 9 * n + 1)])
    ecssd[1] = replace(ecssd[1], mask=b"", bad=UNREADABLE_MASK)
    return ecssd


def _msra10k(seed: int, n: int, ecssd: list[Item]) -> list[Item]:
    mk = _Maker(seed, "msra10k")
    msra = _many(mk, "msra10k", "train", [str(100 + 7 * i) for i in range(9 * n)])
    msra[1] = replace(
        msra[1], mask=draw.encode(np.zeros((10, 10), np.uint8), "PNG"), bad=EMPTY_MASK
    )
    msra[2] = replace(msra[2], mask=None, bad=MASK_MISSING)
    msra[3] = replace(msra[3], image=ecssd[0].image, mask=ecssd[0].mask)  # exact duplicate
    return msra


def _duts(seed: int, n: int, msra: list[Item]) -> list[Item]:
    mk = _Maker(seed, "duts")
    tr = _many(mk, "duts", "train", [f"ILSVRC2014_train_{10000 + i:08d}" for i in range(9 * n)])
    tr[0] = _size_mismatch(mk, DUTS_MISMATCH_NAME)
    tr[1] = replace(tr[1], image=_near_copy(msra[4].image), mask=_near_copy(msra[4].mask, "PNG"))
    te = _many(mk, "duts", "test", [f"ILSVRC2012_test_{i:08d}" for i in range(1, 6 * n + 1)])
    img, masks = mk.arrays()
    te[2] = replace(
        te[2],
        image=draw.encode(img, "JPEG", mode="CMYK"),
        mask=draw.encode(draw.binarize(draw.union(masks)), "PNG"),
        quirk="cmyk-jpeg",
    )
    return tr + te


def _dut_omron(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "dut_omron")
    omron = _many(
        mk, "dut_omron", "train", [f"sun_a{i:07d}" for i in range(7 * n)], in_repack=False
    )
    img, masks = mk.arrays()
    omron[3] = replace(
        omron[3],
        image=draw.encode(img, "PNG", mode="P"),
        ext=".png",
        mask=draw.encode(draw.binarize(draw.union(masks)), "PNG"),
        quirk="palette-png-image",
    )
    return omron


def _coift(seed: int, n: int) -> list[Item]:
    mk = _Maker(seed, "coift")
    coift = _many(mk, "coift", "test", [f"coift_{i:03d}" for i in range(1, 6 * n + 1)], soft=True)
    img, masks = mk.arrays(thin=True)
    coift[2] = replace(
        coift[2],
        image=draw.encode(img, "JPEG", mode="L"),
        mask=draw.encode(draw.union(masks), "PNG"),
        quirk="greyscale-image",
    )
    return coift


def _size_mismatch(mk: _Maker, stem: str) -> Item:
    img, masks = mk.arrays()
    h, w = img.shape[:2]
    small = draw.binarize(draw.union(masks))[: h - 7, : w - 5]
    return Item(
        "duts",
        "train",
        stem,
        draw.encode(img, "JPEG"),
        draw.encode(small, "PNG"),
        bad=SIZE_MISMATCH,
    )


def _near_copy(data: bytes, fmt: str = "JPEG") -> bytes:
    """Resized to 90% and re-encoded: a near duplicate, not a byte copy."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    small = img.resize((img.width * 9 // 10, img.height * 9 // 10), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format=fmt, **({"quality": 75} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _hrsod(mk: _Maker, count: int) -> list[Item]:
    out = []
    for i in range(count):
        img, masks = mk.arrays(n=2 if i % 2 else 1)
        ids = np.zeros(masks[0].shape, np.uint8)
        for k, m in enumerate(masks, 1):
            ids[m > 127] = k
        binary = np.where(ids > 0, 255, 0).astype(np.uint8)
        image, quirk = draw.encode(img, "JPEG"), "object-id-mask"
        if i == 1:
            image, quirk = draw.exif_rotated_jpeg(img), "object-id-mask,exif-orientation"
        out.append(
            Item(
                "hrsod",
                "test",
                f"{i + 1:05d}",
                image,
                draw.encode(ids, "PNG"),
                quirk=quirk,
                repack_mask=draw.encode(binary, "PNG"),
            )
        )
    return out
