"""The encoding cache serves exactly the entry of its key, from memory or a verified file.

A tiny fake model (one strided convolution as the image encoder, ``S`` = 64) keeps these
fast; the protocol's :meth:`HQProtocol.encode` is the interface under test.
"""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest
import torch
from torch import nn

from hqseg.evaluation.encodings import (
    CACHE_COMMAND,
    EncodingCache,
    EncodingCacheError,
    EncodingKey,
    encoder_digest,
    encoder_frozen,
)
from hqseg.evaluation.protocol import HQProtocol, LongestSideProtocol
from hqseg.utils.outdir import MARKER

SIZE = 64


class _Sam(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.image_encoder = nn.Conv2d(3, 8, kernel_size=8, stride=8)
        self.register_buffer("pixel_mean", torch.tensor([123.7, 116.3, 103.5]).view(3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor([58.4, 57.1, 57.4]).view(3, 1, 1))


class _Predictor:
    """The protocol's model interface around :class:`_Sam` (features: a 2-tuple)."""

    image_size = SIZE
    dtype = None

    def __init__(self, model: _Sam) -> None:
        self.model = model
        self.pixel_mean, self.pixel_std = model.pixel_mean, model.pixel_std

    def encode_image(self, images: torch.Tensor):
        with torch.inference_mode():
            emb = self.model.image_encoder(images)
            return emb, emb.permute(0, 2, 3, 1) * 2


def _two_encoders() -> tuple[_Predictor, _Predictor]:
    a, b = _Sam(), _Sam()
    with torch.no_grad():
        b.image_encoder.weight[0, 0, 0, 0] += 1e-3  # one weight differs
    return _Predictor(a), _Predictor(b)


def _images() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    out = []
    for h, w in ((48, 80), (70, 50)):
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4 : h // 2, w // 4 : w // 2] = 255
        out.append((rng.integers(0, 256, (h, w, 3), dtype=np.uint8), mask))
    return out


def _combos(cache):
    """Every (encoder, geometry, image): its prepared input, fresh features, cached ones."""
    geometries = (HQProtocol, LongestSideProtocol)
    for pred, cls, (image, mask) in itertools.product(_two_encoders(), geometries, _images()):
        prepared = cls(pred).prepare(image, mask)
        fresh = cls(pred).encode(prepared.image)
        yield (pred, cls, prepared), fresh, cls(pred, encodings=cache).encode(prepared.image)


def _equal(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_the_cache_never_serves_a_wrong_entry(where, tmp_path):
    kwargs = {"memory_bytes": 1 << 30} if where == "memory" else {"memory_bytes": 0}
    cache = EncodingCache(tmp_path / "enc" if where == "disk" else None, **kwargs)
    first = list(_combos(cache))
    assert cache.misses == 8 and cache.hits == 0
    for _, fresh, got in first:
        assert _equal(fresh, got)
    # the eight encodings differ pairwise, so a key that ignored a part would be caught
    for (_, a, _), (_, b, _) in itertools.combinations(first, 2):
        assert not _equal(a, b)
    second = list(_combos(cache))
    assert cache.hits == 8 and cache.misses == 8
    for _, fresh, got in second:
        assert _equal(fresh, got) and all(t.device.type == "cpu" for t in got)


def test_an_image_sha256_key_still_separates_encoders_and_geometries():
    cache = EncodingCache(memory_bytes=1 << 30)
    image, mask = _images()[0]
    for pred, cls in itertools.product(_two_encoders(), (HQProtocol, LongestSideProtocol)):
        prepared = cls(pred).prepare(image, mask)
        got = cls(pred, encodings=cache).encode(prepared.image, ["ab" * 32])
        assert _equal(got, cls(pred).encode(prepared.image))
    assert cache.misses == 4 and cache.hits == 0


def test_bf16_encodings_are_kept_exactly_and_apart_from_float32(tmp_path):
    cache = EncodingCache(tmp_path / "enc", memory_bytes=0)
    pred, _ = _two_encoders()
    half = _Predictor(pred.model)
    half.dtype = torch.bfloat16
    half.encode_image = lambda images: tuple(t.bfloat16() for t in pred.encode_image(images))
    image, mask = _images()[0]
    prepared = HQProtocol(pred).prepare(image, mask)
    for _ in range(2):  # fill, then read back from disk
        got16 = HQProtocol(half, encodings=cache).encode(prepared.image)
        got32 = HQProtocol(pred, encodings=cache).encode(prepared.image)
        assert all(t.dtype == torch.bfloat16 for t in got16)
        assert _equal(got16, half.encode_image(prepared.image))
        assert _equal(got32, pred.encode_image(prepared.image))
    assert cache.misses == 2 and cache.hits == 2


def test_encoder_digest_sees_one_weight_and_the_frozen_check_sees_trainable_ones():
    a, b = _two_encoders()
    assert encoder_digest(a) != encoder_digest(b)
    assert encoder_digest(a) == encoder_digest(_Predictor(_Sam()))
    assert encoder_frozen(a) is False  # a plain Conv2d requires grad
    a.model.image_encoder.requires_grad_(False)
    assert encoder_frozen(a) is True


def test_the_digest_is_kept_only_for_encoders_promised_fixed():
    """A cache for fixed encoders (training validation's frozen one) digests each model
    once; any other cache digests it at every call, so a changed weight is seen."""
    a, _ = _two_encoders()
    before = encoder_digest(a)
    fixed, fresh = EncodingCache(fixed_encoders=True), EncodingCache()
    assert fixed.digest(a) == fresh.digest(a) == fixed.digest(a.model) == before
    with torch.no_grad():
        a.model.image_encoder.weight[0, 0, 0, 0] += 1e-3
    assert fresh.digest(a) == encoder_digest(a) != before
    assert fixed.digest(a) == before  # the promise: not recomputed


def _key(i: int) -> EncodingKey:
    return EncodingKey("e" * 64, "square", SIZE, f"{i:064x}")


def _value(i: int):
    return (torch.full((1, 4, 8, 8), float(i)), torch.arange(16.0).view(1, 4, 4) + i)


def test_disk_entries_are_verified_and_a_damaged_file_is_recomputed(tmp_path):
    folder = tmp_path / "enc"
    EncodingCache(folder, memory_bytes=0).get_or_compute(_key(1), lambda: _value(1))
    (path,) = folder.glob("*.enc")
    logs: list[str] = []
    reader = EncodingCache(folder, memory_bytes=0, log=logs.append)
    assert _equal(reader.get_or_compute(_key(1), _fail), _value(1)) and not logs

    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[-10] ^= 0xFF
    for damaged in (bytes(flipped), good[: len(good) // 2], b"not an encoding", b""):
        path.write_bytes(damaged)
        got = reader.get_or_compute(_key(1), lambda: _value(1))
        assert _equal(got, _value(1))
        assert len(logs) == 1 and str(path) in logs[0] and "recomputing" in logs[0]
        assert path.read_bytes() == good  # replaced by a sound file
        logs.clear()


def _fail():
    raise AssertionError("computed although cached")


def test_a_file_holding_another_key_is_not_served(tmp_path):
    folder = tmp_path / "enc"
    cache = EncodingCache(folder, memory_bytes=0, log=lambda _line: None)
    cache.get_or_compute(_key(1), lambda: _value(1))
    cache.get_or_compute(_key(2), lambda: _value(2))
    one, two = (folder / f"{_key(i).name()}.enc" for i in (1, 2))
    one.write_bytes(two.read_bytes())  # a valid file under the wrong name
    assert _equal(cache.get_or_compute(_key(1), lambda: _value(1)), _value(1))


def test_the_disk_limit_evicts_the_oldest_entries(tmp_path):
    folder = tmp_path / "enc"
    probe = EncodingCache(folder, memory_bytes=0)
    probe.get_or_compute(_key(0), lambda: _value(0))
    size = next(folder.glob("*.enc")).stat().st_size
    os.utime(next(folder.glob("*.enc")), ns=(0, 0))
    cache = EncodingCache(folder, memory_bytes=0, disk_bytes=3 * size, log=lambda _line: None)
    for i in range(1, 5):
        cache.get_or_compute(_key(i), lambda i=i: _value(i))
        path = folder / f"{_key(i).name()}.enc"
        os.utime(path, ns=(i * 10**9, i * 10**9))  # strictly increasing ages
    cache.get_or_compute(_key(5), lambda: _value(5))
    left = {p.name for p in folder.glob("*.enc")}
    assert left == {f"{_key(i).name()}.enc" for i in (3, 4, 5)}


def test_a_folder_that_is_not_an_encoding_cache_is_refused_and_left_alone(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    with pytest.raises(EncodingCacheError, match="not an hqseg encoding cache"):
        EncodingCache(user)
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]
    other = tmp_path / "other"
    other.mkdir()
    (other / MARKER).write_text(json.dumps({"command": "eval hq", "files": {}}))
    with pytest.raises(EncodingCacheError):
        EncodingCache(other)
    empty = tmp_path / "empty"
    empty.mkdir()
    EncodingCache(empty)
    assert json.loads((empty / MARKER).read_text())["command"] == CACHE_COMMAND
    EncodingCache(empty).get_or_compute(_key(1), lambda: _value(1))  # reopened: its own
