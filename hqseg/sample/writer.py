"""Write the sample: archives in every source's real layout, SHA256SUMS, manifest.json."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from hqseg.data.catalog import ORIGINS
from hqseg.sample import content, layouts
from hqseg.sample.preview import write_preview
from hqseg.sample.zips import zip_bytes
from hqseg.utils.atomic import write_bytes, write_json, write_text
from hqseg.utils.outdir import check_replaceable, output_dir


def write_sample(out: str | Path, seed: int = 0, *, scale: int = 1) -> dict[str, Any]:
    """Write the sample archives under ``out`` and return the manifest (the known truth).

    Layout of ``out``: ``<source>/<archive as released>`` for the originals,
    ``repack/{DIS5K,cascade_psp,thin_object_detection}.zip``, ``SHA256SUMS`` (paths
    relative to ``out``), ``preview.png`` (a contact sheet, mask outlines in green) and
    ``manifest.json``. The folder is one unit (:func:`hqseg.utils.outdir.output_dir`:
    written aside and swapped in, and a folder holding anything ``sample`` did not
    write is refused, never replaced). Same seed and scale give byte-identical files.

    Manifest keys:
        ``pairs[origin][source][split]``: valid pairs the whole pipeline must keep;
        ``adapter_pairs[origin][source][split]``: pairs a source adapter yields
        (valid + pixel-level bad ones); ``rejects[origin][source]``: planted bad
        files with the reason the pipeline must give and the ``stage`` that gives
        it (``extract``, ``adapter`` or ``normalize``); ``kept``: quirky pairs to
        keep with the fix to apply; ``duplicates``: planted exact/near duplicates
        and the DIS-VD leak; ``archives``: files per source and origin.
    """
    out = Path(out)
    check_replaceable(out, "sample")  # before the work, not after it
    items = content.build_items(seed, scale)
    built = {"original": layouts.original(items)}
    loc = {"original": layouts.locations()}
    rep = layouts.repack(items)
    loc["repack"] = layouts.locations()

    files: dict[str, bytes] = {}
    for per_source in built["original"].values():
        files |= {name: zip_bytes(entries) for name, entries in per_source.items()}
    files |= {name: zip_bytes(entries) for name, entries in rep.items()}
    manifest = _manifest(items, loc, seed, scale, built["original"], rep)
    with output_dir(out, "sample") as tmp:
        for name, data in sorted(files.items()):
            write_bytes(tmp / name, data)
        sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(files.items()))
        write_text(tmp / "SHA256SUMS", sums)
        write_preview(items, tmp / "preview.png")
        write_json(tmp / "manifest.json", manifest)
    return manifest


def _present(it: content.Item, origin: str) -> bool:
    return origin == "original" or (it.in_repack and it.source != "dut_omron")


def _manifest(items, loc, seed, scale, original, rep) -> dict[str, Any]:
    pairs: dict = {o: defaultdict(lambda: defaultdict(int)) for o in ORIGINS}
    adapter: dict = {o: defaultdict(lambda: defaultdict(int)) for o in ORIGINS}
    rejects: dict = {o: defaultdict(list) for o in ORIGINS}
    kept = []
    for source, its in items.items():
        for it in its:
            for origin in ORIGINS:
                if not _present(it, origin):
                    continue
                image, mask = loc[origin][it.id]
                if it.mask is not None:
                    adapter[origin][source][it.split] += 1
                if not it.bad:
                    pairs[origin][source][it.split] += 1
                    continue
                stage = "adapter" if it.bad == content.MASK_MISSING else "normalize"
                on_image = it.bad in (content.TRUNCATED_IMAGE, content.MASK_MISSING)
                rejects[origin][source].append(
                    {
                        "id": it.id,
                        "file": image if on_image else mask,
                        "reason": it.bad,
                        "stage": stage,
                    }
                )
            if it.quirk:
                kept.append({"id": it.id, "split": it.split, "quirk": it.quirk})
    for source, problems in layouts.layout_problems().items():
        for p in problems:
            stage = "extract" if p["reason"] == content.UNSAFE_PATH else "adapter"
            rejects[p["origin"]][source].append(
                {"id": "", "file": p["file"], "reason": p["reason"], "stage": stage}
            )
    archives = {s: {"original": sorted(a), "repack": []} for s, a in original.items()}
    for name, members in rep.items():
        for source in _repack_sources(members):
            archives[source]["repack"].append(name)
    return {
        "seed": seed,
        "scale": scale,
        "pairs": _plain(pairs),
        "adapter_pairs": _plain(adapter),
        "rejects": _plain(rejects),
        "kept": kept,
        "duplicates": _duplicates(items),
        "archives": archives,
    }


def _repack_sources(members) -> set[str]:
    prefixes = {
        "DIS5K/": "dis5k",
        "fss_all/": "fss1000",
        "ecssd/": "ecssd",
        "MSRA_10K/": "msra10k",
        "DUTS-": "duts",
        "thin_object_detection/ThinObject5K/": "thinobject5k",
        "thin_object_detection/COIFT/": "coift",
        "thin_object_detection/HRSOD/": "hrsod",
    }
    return {src for name, _ in members for p, src in prefixes.items() if name.startswith(p)}


def _duplicates(items) -> list[dict[str, str]]:
    ecssd, msra, duts, dis = items["ecssd"], items["msra10k"], items["duts"], items["dis5k"]
    leak = next(it for it in dis if it.split == "train" and it.stem.startswith("99#"))
    val = next(it for it in dis if it.split == "val" and it.image == leak.image)
    return [
        {"kind": "exact", "a": ecssd[0].id, "b": msra[3].id, "note": "same image bytes"},
        {"kind": "near", "a": msra[4].id, "b": duts[1].id, "note": "resized 90% + recompressed"},
        {"kind": "leak", "a": leak.id, "b": val.id, "note": "DIS-VD image copied into DIS-TR"},
    ]


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in sorted(obj.items())}
    return obj
