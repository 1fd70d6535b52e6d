"""The sample generator: deterministic, real layouts, planted problems as the manifest says."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageOps

from hqseg.sample import write_sample


def _member(folder, archive, suffix):
    with zipfile.ZipFile(folder / archive) as zf:
        names = [n for n in zf.namelist() if n.endswith(suffix)]
        assert len(names) == 1, names
        return zf.read(names[0])


def test_same_seed_gives_byte_identical_archives(sample, tmp_path):
    folder, manifest = sample
    again = write_sample(tmp_path / "again", seed=0)
    assert (tmp_path / "again" / "SHA256SUMS").read_bytes() == (folder / "SHA256SUMS").read_bytes()
    assert again == manifest
    other = write_sample(tmp_path / "other", seed=1)
    assert (tmp_path / "other" / "SHA256SUMS").read_bytes() != (folder / "SHA256SUMS").read_bytes()
    assert other["pairs"] == manifest["pairs"]


def test_sha256sums_match_the_files(sample):
    folder, _ = sample
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_archives_have_the_real_names(sample):
    folder, manifest = sample
    expected = {
        "dis5k/DIS5K.zip",
        "thinobject5k/ThinObject5K.zip",
        "fss1000/fewshot_data.zip",
        "ecssd/images.zip",
        "ecssd/ground_truth_mask.zip",
        "msra10k/MSRA10K_Imgs_GT.zip",
        "duts/DUTS-TR.zip",
        "duts/DUTS-TE.zip",
        "dut_omron/DUT-OMRON-image.zip",
        "dut_omron/DUT-OMRON-gt-pixelwise.zip.zip",
        "coift/COIFT.zip",
        "hrsod/HRSOD.zip",
        "repack/DIS5K.zip",
        "repack/cascade_psp.zip",
        "repack/thin_object_detection.zip",
    }
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*.zip")} == expected
    assert manifest["archives"]["ecssd"]["repack"] == ["repack/cascade_psp.zip"]
    preview = Image.open(folder / "preview.png")
    assert preview.format == "PNG" and preview.height >= 9 * 100


def test_counts_are_in_the_promised_ranges(sample):
    _, manifest = sample
    pairs = manifest["pairs"]["original"]
    for source, splits in pairs.items():
        for split, n in splits.items():
            assert 3 <= n <= 12, (source, split, n)
    for source, split in [
        ("dis5k", "val"),
        ("coift", "test"),
        ("hrsod", "test"),
        ("thinobject5k", "test"),
    ]:
        assert pairs[source][split] >= 6
    train = (
        sum(
            pairs[s]["train"]
            for s in ("dis5k", "thinobject5k", "fss1000", "ecssd", "msra10k", "duts")
        )
        + pairs["duts"]["test"]
    )
    assert 60 <= train <= 100


def test_planted_bad_files_are_really_bad(sample):
    folder, manifest = sample
    rej = {r["reason"]: r for rs in manifest["rejects"]["original"].values() for r in rs}
    assert set(rej) == {
        "truncated-image",
        "unreadable-mask",
        "empty-mask",
        "size-mismatch",
        "mask-missing",
        "list-entry-missing",
        "unsafe-path",
    }
    with pytest.raises(OSError):
        Image.open(
            io.BytesIO(_member(folder, "dis5k/DIS5K.zip", rej["truncated-image"]["file"]))
        ).load()
    assert _member(folder, "ecssd/ground_truth_mask.zip", "0002.png") == b""
    empty = Image.open(io.BytesIO(_member(folder, "msra10k/MSRA10K_Imgs_GT.zip", "Imgs/107.png")))
    assert not np.asarray(empty).any()
    name = "ILSVRC2014_train_00023530"
    img = Image.open(io.BytesIO(_member(folder, "duts/DUTS-TR.zip", f"{name}.jpg")))
    mask = Image.open(io.BytesIO(_member(folder, "duts/DUTS-TR.zip", f"{name}.png")))
    assert img.size != mask.size
    with zipfile.ZipFile(folder / "ecssd/images.zip") as zf:
        assert "../evil.txt" in zf.namelist()


def test_kept_quirks_are_what_they_claim(sample):
    folder, manifest = sample
    quirks = {k["quirk"] for k in manifest["kept"]}
    assert {
        "cmyk-jpeg",
        "palette-png-image",
        "greyscale-image",
        "stray-jpeg-kept",
        "three-channel-mask",
        "object-id-mask,exif-orientation",
    } <= quirks

    def open_(archive, suffix):
        return Image.open(io.BytesIO(_member(folder, archive, suffix)))

    assert open_("duts/DUTS-TE.zip", "ILSVRC2012_test_00000003.jpg").mode == "CMYK"
    assert open_("dut_omron/DUT-OMRON-image.zip", "image/sun_a0000003.png").mode == "P"
    assert open_("coift/COIFT.zip", "images/coift_003.jpg").mode == "L"
    assert open_("fss1000/fewshot_data.zip", "abacus/1.png").mode == "RGB"
    rotated = open_("hrsod/HRSOD.zip", "images/00002.jpg")
    ids = open_("hrsod/HRSOD.zip", "masks/00002.png")
    assert rotated.size != ids.size and ImageOps.exif_transpose(rotated).size == ids.size
    assert set(np.unique(np.asarray(ids))) == {0, 1, 2}
    rep = open_("repack/thin_object_detection.zip", "masks_max255/00002.png")
    assert set(np.unique(np.asarray(rep))) == {0, 255}
    alpha = np.asarray(open_("thinobject5k/ThinObject5K.zip", "masks/train_0001.png"))
    assert ((alpha > 0) & (alpha < 255)).any()  # anti-aliased matte


def test_planted_duplicates(sample):
    folder, manifest = sample
    kinds = {d["kind"]: d for d in manifest["duplicates"]}
    assert set(kinds) == {"exact", "near", "leak"}
    ecssd = _member(folder, "ecssd/images.zip", kinds["exact"]["a"].split("/")[1] + ".jpg")
    msra = _member(
        folder, "msra10k/MSRA10K_Imgs_GT.zip", "/" + kinds["exact"]["b"].split("/")[1] + ".jpg"
    )
    assert ecssd == msra
    leak_a, leak_b = (kinds["leak"][k].split("/", 1)[1] for k in "ab")
    assert _member(folder, "dis5k/DIS5K.zip", f"DIS-TR/im/{leak_a}.jpg") == _member(
        folder, "dis5k/DIS5K.zip", f"DIS-VD/im/{leak_b}.jpg"
    )


@pytest.mark.parametrize("origin", ["original", "repack"])
def test_every_pair_not_planted_bad_has_matching_sizes(sample, raw, origin):
    from hqseg.data.schema import Pair
    from hqseg.data.sources import get_source

    _, manifest = sample
    checked = 0
    for name in manifest["pairs"][origin]:
        bad_ids = {r["id"] for r in manifest["rejects"][origin].get(name, [])}
        for p in get_source(name).iter_pairs(raw(origin) / name):
            if not isinstance(p, Pair) or f"{name}/{p.stem}" in bad_ids:
                continue
            image = ImageOps.exif_transpose(Image.open(p.image))
            mask = Image.open(p.mask)
            assert image.size == mask.size, (name, p.stem)
            assert np.asarray(mask).any(), (name, p.stem)
            checked += 1
    assert checked == sum(sum(v.values()) for v in manifest["pairs"][origin].values())
