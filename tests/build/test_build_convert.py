"""Per-pair normalisation: decode checks, conversions, mask reduction, size rules."""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pytest
from build_helpers import blob, jpeg_bytes, photo, save
from PIL import Image

from hqseg.data.convert import Converted, convert_pair
from hqseg.data.dedup import NEAR_THRESHOLD
from hqseg.data.fingerprints import grey_thumbnail, perceptual_hash, pixel_digest
from hqseg.data.pixels import pixels
from hqseg.data.schema import Pair, Reject


def _pair(tmp_path, image, mask, stem="a"):
    return Pair(image=image, mask=mask, split="train", stem=stem)


def _decode(b: bytes) -> Image.Image:
    return Image.open(io.BytesIO(b))


@pytest.fixture
def good(tmp_path):
    img = save(photo(1), tmp_path / "a.jpg", quality=90)
    msk = save(blob(grey=200), tmp_path / "a.png")
    return img, msk


def test_valid_pair_keeps_original_bytes_and_grey_levels(tmp_path, good):
    img, msk = good
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    assert isinstance(out, Converted)
    row = out.row
    assert row["id"] == "ecssd/a" and row["split"] == "train" and row["source"] == "ecssd"
    assert row["image"]["bytes"] == img.read_bytes()
    assert row["mask"]["bytes"] == msk.read_bytes()
    assert row["sha256"] == hashlib.sha256(img.read_bytes()).hexdigest()
    assert (row["width"], row["height"]) == (40, 30)
    assert set(np.unique(np.asarray(_decode(row["mask"]["bytes"])))) == {0, 128, 200}
    assert len(row["phash"]) == 16


@pytest.mark.parametrize(
    ("which", "content", "reason"),
    [
        ("image", b"", "unreadable-image"),
        ("mask", b"", "unreadable-mask"),
        ("image", b"not an image at all", "unreadable-image"),
        ("mask", b"GIF89a garbage", "unreadable-mask"),
    ],
)
def test_bad_files_are_rejected_with_reason(tmp_path, good, which, content, reason):
    img, msk = good
    target = img if which == "image" else msk
    target.write_bytes(content)
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    assert isinstance(out, Reject)
    assert (out.reason, out.path, out.source) == (reason, str(target), "ecssd")


@pytest.mark.parametrize("which", ["image", "mask"])
def test_truncated_files_are_rejected(tmp_path, good, which):
    img, msk = good
    target = img if which == "image" else msk
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    expected = "truncated-image" if which == "image" else "unreadable-mask"
    assert isinstance(out, Reject) and out.reason == expected


def test_missing_file_is_rejected(tmp_path, good):
    img, _ = good
    out = convert_pair("ecssd", _pair(tmp_path, img, tmp_path / "nope.png"))
    assert isinstance(out, Reject) and out.reason == "mask-missing"


def test_empty_mask_is_rejected(tmp_path, good):
    img, msk = good
    save(np.zeros((30, 40), np.uint8), msk)
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    assert isinstance(out, Reject) and out.reason == "empty-mask"


def test_size_mismatch_reject_or_resize(tmp_path, good):
    img, msk = good
    save(blob(size=(20, 15)), msk)
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    assert isinstance(out, Reject) and out.reason == "size-mismatch"
    assert "40x30" in out.detail and "20x15" in out.detail
    out = convert_pair("ecssd", _pair(tmp_path, img, msk), size_mismatch="resize")
    assert isinstance(out, Converted) and out.warnings
    mask = _decode(out.row["mask"]["bytes"])
    assert mask.size == (40, 30) and mask.mode == "L"
    assert set(np.unique(np.asarray(mask))) <= {0, 128, 255}


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA"])
def test_non_rgb_images_become_rgb_png(tmp_path, good, mode):
    _, msk = good
    src = Image.fromarray(photo(2)).convert(mode)
    path = tmp_path / f"img.{'jpg' if mode in ('CMYK', 'L') else 'png'}"
    src.save(path)
    out = convert_pair("ecssd", _pair(tmp_path, path, msk))
    assert isinstance(out, Converted)
    stored = _decode(out.row["image"]["bytes"])
    assert stored.format == "PNG" and stored.mode == "RGB"
    assert np.array_equal(np.asarray(stored), np.asarray(Image.open(path).convert("RGB")))


def test_exif_orientation_is_applied(tmp_path):
    # stored 40x30, EXIF orientation 6 (rotate 90 CW on display) -> 30x40, like the mask
    exif = Image.Exif()
    exif[0x0112] = 6
    img = tmp_path / "r.jpg"
    Image.fromarray(photo(3)).save(img, exif=exif.tobytes(), quality=95)
    msk = save(blob(size=(30, 40)), tmp_path / "r.png")
    out = convert_pair("hrsod", _pair(tmp_path, img, msk))
    assert isinstance(out, Converted)
    assert (out.row["width"], out.row["height"]) == (30, 40)
    stored = _decode(out.row["image"]["bytes"])
    assert stored.size == (30, 40) and stored.format == "PNG"


def test_multichannel_mask_is_reduced_to_l(tmp_path, good):
    img, msk = good
    grey = blob(grey=180)
    save(np.stack([grey, grey, grey], axis=2), msk)
    out = convert_pair("fss1000", _pair(tmp_path, img, msk))
    mask = _decode(out.row["mask"]["bytes"])
    assert mask.mode == "L" and np.array_equal(np.asarray(mask), grey)
    red = np.zeros((30, 40, 3), np.uint8)
    red[..., 0] = grey
    save(red, msk)
    mask = _decode(convert_pair("fss1000", _pair(tmp_path, img, msk)).row["mask"]["bytes"])
    assert np.array_equal(np.asarray(mask), grey)


def test_object_id_masks_become_binary(tmp_path, good):
    img, msk = good
    ids = np.zeros((30, 40), np.uint8)
    ids[2:10, 2:10], ids[15:25, 20:30] = 1, 2
    save(ids, msk)
    out = convert_pair("hrsod", _pair(tmp_path, img, msk), mask_kind="object_ids")
    mask = np.asarray(_decode(out.row["mask"]["bytes"]))
    assert set(np.unique(mask)) == {0, 255}
    assert np.array_equal(mask > 0, ids > 0)


def test_16bit_mask_is_scaled(tmp_path, good):
    img, msk = good
    arr = (blob().astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(arr).save(msk)
    out = convert_pair("ecssd", _pair(tmp_path, img, msk))
    mask = np.asarray(_decode(out.row["mask"]["bytes"]))
    assert mask.dtype == np.uint8 and mask.max() == 255 and np.array_equal(mask > 0, blob() > 0)


def test_same_pixels_same_hashes_different_bytes(tmp_path):
    arr = photo(4)
    a = save(arr, tmp_path / "a.png")
    b = save(arr, tmp_path / "b.png", compress_level=0)
    m = save(blob(), tmp_path / "m.png")
    ra = convert_pair("ecssd", _pair(tmp_path, a, m)).row
    rb = convert_pair("ecssd", _pair(tmp_path, b, m, stem="b")).row
    assert ra["sha256"] != rb["sha256"] and ra["phash"] == rb["phash"]
    assert pixel_digest(Image.open(a)) == pixel_digest(Image.open(b))
    assert pixel_digest(Image.open(a)) != pixel_digest(Image.fromarray(photo(5)))


def test_pixels_view_matches_numpy():
    img = Image.fromarray(photo(6))
    assert np.array_equal(pixels(img)[..., :3], np.asarray(img))
    grey = img.convert("L")
    assert np.array_equal(pixels(grey), np.asarray(grey))


def test_perceptual_hash_is_robust_to_resizing_and_reencoding():
    for seed in range(7, 12):
        img = Image.fromarray(photo(seed, size=(320, 240)))
        near = Image.open(io.BytesIO(jpeg_bytes(np.asarray(img.resize((288, 216))))))
        far = Image.fromarray(photo(seed + 100, size=(320, 240)))

        def dist(x, y):
            return bin(int(perceptual_hash(x), 16) ^ int(perceptual_hash(y), 16)).count("1")

        assert dist(img, near) <= NEAR_THRESHOLD < dist(img, far), seed


@pytest.mark.parametrize("size", [(40, 30), (97, 65), (31, 5), (1, 1), (640, 33)])
def test_grey_thumbnail_is_the_mean_luma_of_each_grid_cell(size):
    """The documented definition, computed the slow way: cell (i, j) holds rows
    floor(i H / 32) .. floor((i+1) H / 32) - 1 (at least the first), columns likewise."""
    arr = photo(3, size=size)
    h, w = arr.shape[:2]
    luma = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    expected = np.empty((32, 32))
    for i in range(32):
        r0, r1 = i * h // 32, (i + 1) * h // 32
        for j in range(32):
            c0, c1 = j * w // 32, (j + 1) * w // 32
            expected[i, j] = luma[r0 : max(r1, r0 + 1), c0 : max(c1, c0 + 1)].mean()
    np.testing.assert_allclose(grey_thumbnail(Image.fromarray(arr)), expected, rtol=0, atol=1e-9)


def test_perceptual_hash_does_not_depend_on_opencv_threads():
    img = Image.fromarray(photo(12, size=(700, 500)))
    before = cv2.getNumThreads()
    try:
        hashes = set()
        for threads in (1, 4):
            cv2.setNumThreads(threads)
            hashes.add(perceptual_hash(img))
    finally:
        cv2.setNumThreads(before)
    assert len(hashes) == 1
