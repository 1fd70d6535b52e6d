"""Where each item goes in each archive: the original releases and the HQ-SAM repack.

A layout function maps items to ``{archive path: [(member, bytes), ...]}``; archive
paths are relative to the sample folder (``ecssd/images.zip``, ``repack/cascade_psp.zip``).
Member paths follow the real releases, quirks included (FACTS §1).
"""

from __future__ import annotations

from collections import defaultdict

from hqseg.sample.content import LIST_ENTRY_MISSING, UNSAFE_PATH, Item

Entries = list[tuple[str, bytes]]
EVIL_MEMBER = "../evil.txt"
MISSING_LISTED_MASK = "test_9999.png"
DIS_SPLITS = {"train": "DIS-TR", "val": "DIS-VD", **{f"te{k}": f"DIS-TE{k}" for k in range(1, 5)}}
MASKS_OMRON = "DUT-OMRON-gt-pixelwise.zip/pixelwiseGT-new-PNG"
DUTS_SPLITS = {"train": "DUTS-TR", "test": "DUTS-TE"}


# item id -> (image member, mask member or None), filled by the last layout built
Locations = dict[str, tuple[str, str | None]]
_loc: Locations = {}


def _pair(
    out: Entries, it: Item, img_dir: str, mask_dir: str, *, name: str | None = None, mask=None
):
    name = name or it.stem
    image_member = f"{img_dir}/{name}{it.ext}"
    out.append((image_member, it.image))
    mask = it.mask if mask is None else mask
    mask_member = f"{mask_dir}/{name}.png" if mask is not None else None
    if mask_member is not None:
        out.append((mask_member, mask))
    _loc[it.id] = (image_member, mask_member)


def locations() -> Locations:
    """Where each item of the last built layout lives (member paths), by item id."""
    return dict(_loc)


def original(items: dict[str, list[Item]]) -> dict[str, dict[str, Entries]]:
    """Archives of the original releases, by source: ``{source: {archive: entries}}``."""
    _loc.clear()
    arch: dict[str, dict[str, Entries]] = defaultdict(lambda: defaultdict(list))

    dis = arch["dis5k"]["dis5k/DIS5K.zip"]
    dis.append(("DIS5K/DIS5K-Terms-of-Use.txt", b"Terms of use (sample stand-in for the PDF)\n"))
    for it in items["dis5k"]:
        d = f"DIS5K/{DIS_SPLITS[it.split]}"
        _pair(dis, it, f"{d}/im", f"{d}/gt")

    thin = arch["thinobject5k"]["thinobject5k/ThinObject5K.zip"]
    lists: dict[str, list[str]] = defaultdict(list)
    for it in items["thinobject5k"]:
        _pair(thin, it, "ThinObject5K/images", "ThinObject5K/masks")
        lists[it.split].append(f"{it.stem}.png")
    lists["test"].append(MISSING_LISTED_MASK)  # a list entry whose mask is not shipped
    for split, names in sorted(lists.items()):
        thin.append((f"ThinObject5K/list/{split}.txt", ("\n".join(names) + "\n").encode()))

    fss = arch["fss1000"]["fss1000/fewshot_data.zip"]
    for it in items["fss1000"]:
        cls, n = it.stem.split("/")
        d = f"fewshot_data/fewshot_data/{cls}"
        _pair(fss, it, d, d, name=n)
    fss.append(("fewshot_data/fewshot_data/abacus/.DS_Store", b"\0\0\0\1Bud1junk"))

    ec = arch["ecssd"]
    for it in items["ecssd"]:
        pair: Entries = []
        _pair(pair, it, "images", "ground_truth_mask")
        ec["ecssd/images.zip"].append(pair[0])
        ec["ecssd/ground_truth_mask.zip"] += pair[1:]
    ec["ecssd/images.zip"].append((EVIL_MEMBER, b"path traversal: must never be written\n"))

    msra = arch["msra10k"]["msra10k/MSRA10K_Imgs_GT.zip"]
    for it in items["msra10k"]:
        _pair(msra, it, "MSRA10K_Imgs_GT/Imgs", "MSRA10K_Imgs_GT/Imgs")

    for it in items["duts"]:
        part = DUTS_SPLITS[it.split]
        _pair(arch["duts"][f"duts/{part}.zip"], it, f"{part}/{part}-Image", f"{part}/{part}-Mask")

    om = arch["dut_omron"]
    for it in items["dut_omron"]:
        pair = []
        # the mask archive holds a folder literally named like the archive
        _pair(pair, it, "DUT-OMRON-image/DUT-OMRON-image", MASKS_OMRON)
        junk = (f"__MACOSX/DUT-OMRON-image/DUT-OMRON-image/._{it.stem}{it.ext}", b"\0\5\26\7junk")
        om["dut_omron/DUT-OMRON-image.zip"] += [pair[0], junk]
        om["dut_omron/DUT-OMRON-gt-pixelwise.zip.zip"] += pair[1:]

    co = arch["coift"]["coift/COIFT.zip"]
    for it in items["coift"]:
        _pair(co, it, "COIFT/images", "COIFT/masks")
    names = "".join(f"{it.stem}.png\n" for it in items["coift"])
    co.append(("COIFT/list/test.txt", names.encode()))

    hr = arch["hrsod"]["hrsod/HRSOD.zip"]
    for it in items["hrsod"]:
        _pair(hr, it, "HRSOD/images", "HRSOD/masks")
    return arch


def repack(items: dict[str, list[Item]]) -> dict[str, Entries]:
    """The three repack bundles: ``{archive: entries}``."""
    _loc.clear()
    dis: Entries = []
    for it in items["dis5k"]:
        d = f"DIS5K/{DIS_SPLITS[it.split]}"
        _pair(dis, it, f"{d}/im", f"{d}/gt")

    psp: Entries = []  # no wrapper folder
    for it in items["fss1000"]:
        cls, n = it.stem.split("/")
        _pair(psp, it, "fss_all", "fss_all", name=f"{cls}_{n}")
    for src, folder in (("ecssd", "ecssd"), ("msra10k", "MSRA_10K")):
        for it in items[src]:
            _pair(psp, it, folder, folder)
    for it in items["duts"]:
        part = DUTS_SPLITS[it.split]
        _pair(psp, it, part, part)

    thin: Entries = []
    root = "thin_object_detection"
    for it in items["thinobject5k"]:
        if it.in_repack:
            d = f"{root}/ThinObject5K"
            _pair(thin, it, f"{d}/images_{it.split}", f"{d}/masks_{it.split}")
    for it in items["coift"]:
        _pair(thin, it, f"{root}/COIFT/images", f"{root}/COIFT/masks")
    for it in items["hrsod"]:
        _pair(thin, it, f"{root}/HRSOD/images", f"{root}/HRSOD/masks_max255", mask=it.repack_mask)
    return {
        "repack/DIS5K.zip": dis,
        "repack/cascade_psp.zip": psp,
        "repack/thin_object_detection.zip": thin,
    }


def layout_problems() -> dict[str, list[dict[str, str]]]:
    """Problems planted by the layout itself (not by an item), per source and origin."""
    return {
        "thinobject5k": [
            {
                "origin": "original",
                "file": f"ThinObject5K/list/test.txt:{MISSING_LISTED_MASK}",
                "reason": LIST_ENTRY_MISSING,
            }
        ],
        "ecssd": [
            {"origin": "original", "file": f"images.zip:{EVIL_MEMBER}", "reason": UNSAFE_PATH}
        ],
    }
