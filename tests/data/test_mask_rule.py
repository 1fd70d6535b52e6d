"""The one mask rule (``hqseg.data.mask_rule.mask_to_grey``) on the masks real tools export."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hqseg.data.convert import Converted, convert_pair
from hqseg.data.schema import Pair, Reject

H, W = 40, 50


def _matte() -> np.ndarray:
    """A soft disc: 0 outside, 255 inside, a grey ramp between."""
    yy, xx = np.mgrid[:H, :W]
    r = np.hypot(yy - H / 2, xx - W / 2)
    return np.clip((14 - r) * 64 + 128, 0, 255).astype(np.uint8)


def _pair(tmp_path, mask: Image.Image, fmt="PNG", **save) -> Pair:
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(tmp_path / "img.jpg")
    name = "mask.jpg" if fmt == "JPEG" else "mask.png"
    mask.save(tmp_path / name, format=fmt, **save)
    return Pair(image=tmp_path / "img.jpg", mask=tmp_path / name, split="train", stem="x")


def _grey(result) -> np.ndarray:
    assert isinstance(result, Converted), result
    return np.asarray(Image.open(io.BytesIO(result.row["mask"]["bytes"])))


def test_alpha_matte_with_constant_white_colour_uses_alpha(tmp_path):
    matte = _matte()
    rgba = np.dstack([np.full((H, W, 3), 255, np.uint8), matte])
    grey = _grey(convert_pair("s", _pair(tmp_path, Image.fromarray(rgba, "RGBA"))))
    assert np.array_equal(grey, matte)


def test_alpha_with_varying_colour_is_composited_over_black(tmp_path):
    matte = _matte()
    colour = np.where(matte > 0, 255, 40).astype(np.uint8)
    rgba = np.dstack([colour, colour, colour, matte])
    grey = _grey(convert_pair("s", _pair(tmp_path, Image.fromarray(rgba, "RGBA"))))
    expected = (colour.astype(int) * matte + 127) // 255
    assert np.array_equal(grey, expected)


def test_16bit_full_range_mask_is_scaled(tmp_path):
    m16 = (_matte().astype(np.uint32) * 257).astype(np.uint16)
    grey = _grey(convert_pair("s", _pair(tmp_path, Image.fromarray(m16))))
    assert np.array_equal(grey, _matte())


def test_16bit_zero_one_label_map_is_binary(tmp_path):
    ids = (_matte() > 128).astype(np.uint16)
    grey = _grey(convert_pair("s", _pair(tmp_path, Image.fromarray(ids))))
    assert set(np.unique(grey)) == {0, 255}
    assert np.array_equal(grey > 128, ids > 0)


def test_palette_mask_with_object_ids(tmp_path):
    ids = np.zeros((H, W), np.uint8)
    ids[5:15, 5:15], ids[20:30, 25:45] = 1, 2
    img = Image.fromarray(ids, "P")
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9))  # VOC-like colours
    grey = _grey(convert_pair("s", _pair(tmp_path, img)))
    assert np.array_equal(grey, np.where(ids > 0, 255, 0))


def test_jpeg_mask_noise_is_snapped(tmp_path):
    binary = np.where(_matte() > 128, 255, 0).astype(np.uint8)
    pair = _pair(tmp_path, Image.fromarray(binary, "L"), fmt="JPEG", quality=70)
    grey = _grey(convert_pair("s", pair))
    far = np.abs(binary.astype(int) - grey) > 100
    assert not far.any()  # no pixel flipped
    inner = binary == 0
    inner[12:28, 12:38] = False  # away from the edge: compression noise gone
    assert (grey[inner] == 0).mean() > 0.9


@pytest.mark.parametrize(
    ("mask", "reason"),
    [
        (np.zeros((H, W), np.uint8), "empty-mask"),
        (np.full((H, W), 255, np.uint8), "full-mask"),
        (np.full((H, W), 100, np.uint8), "empty-mask"),  # faint: nothing above 128
    ],
)
def test_all_background_or_all_foreground_is_a_reject(tmp_path, mask, reason):
    result = convert_pair("s", _pair(tmp_path, Image.fromarray(mask, "L")))
    assert isinstance(result, Reject) and result.reason == reason


def test_white_rgba_with_constant_alpha_is_full_mask(tmp_path):
    """The bug of the issue: white everywhere (alpha opaque) was a 100 % foreground record."""
    rgba = np.full((H, W, 4), 255, np.uint8)
    result = convert_pair("s", _pair(tmp_path, Image.fromarray(rgba, "RGBA")))
    assert isinstance(result, Reject) and result.reason == "full-mask"


def test_plain_grey_png_keeps_its_bytes(tmp_path):
    pair = _pair(tmp_path, Image.fromarray(_matte(), "L"))
    result = convert_pair("s", pair)
    assert result.row["mask"]["bytes"] == pair.mask.read_bytes()
