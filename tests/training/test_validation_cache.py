"""Training validation encodes its images once: later validations give bit-identical
metrics and features at the cost of the decoder alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hqseg.errors import HqsegError
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.hq import resolve_protocol
from hqseg.modeling import build_hq_sam
from hqseg.training.validation import VAL_CACHE_ENV, validate, validation_encodings


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_hq_sam("test_vit", freeze_sam=True).eval()


def _record(rid: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    mask = np.zeros((60, 90), np.uint8)
    mask[10 + seed : 40, 20 : 60 + seed] = 255
    return {"id": rid, "image": Image.fromarray(image), "mask": Image.fromarray(mask)}


SPLITS = {"dis_vd": [_record("a", 1), _record("b", 2)], "thin": [_record("c", 3)]}


class _Counting:
    """Counts the image encoder's forward calls."""

    def __init__(self, model) -> None:
        self.calls = 0
        model.image_encoder.register_forward_hook(lambda *_: self._count())

    def _count(self) -> None:
        self.calls += 1


def test_validation_with_the_cache_is_bit_identical_and_encodes_once(model, monkeypatch):
    """float32 (bf16 on this CPU is too slow for the test model; the bf16 key and the
    bf16 tensors' round trip are checked in test_encoding_cache.py). The encoder's digest
    (the cache key's first part, ~1 s at ViT-L) is computed once a run, not per split and
    validation."""
    import hqseg.evaluation.encodings as encodings

    digests = []
    real_digest = encodings.encoder_digest
    monkeypatch.setattr(encodings, "encoder_digest", lambda m: digests.append(1) or real_digest(m))
    bf16 = False
    counter = _Counting(model)
    plain = validate(model, SPLITS, bf16=bf16)
    assert counter.calls == 3
    cache = validation_encodings(model)
    assert isinstance(cache, EncodingCache)
    first = validate(model, SPLITS, bf16=bf16, encodings=cache)
    again = validate(model, SPLITS, bf16=bf16, encodings=cache)
    assert counter.calls == 6  # the second cached validation encoded nothing
    assert cache.hits == 3 and cache.misses == 3
    assert len(digests) == 1  # two validations of two splits each: one digest
    assert first == plain and again == plain  # exactly, every split and the means

    proto = resolve_protocol(model, bf16=bf16, encodings=cache)
    image = np.asarray(SPLITS["dis_vd"][0]["image"])
    prepared = proto.prepare(image, np.asarray(SPLITS["dis_vd"][0]["mask"]))
    cached = proto.encode(prepared.image)
    assert cache.hits == 4
    fresh = resolve_protocol(model, bf16=bf16).encode(prepared.image)
    for got, want in zip(cached, fresh, strict=True):
        assert got.dtype == want.dtype and torch.equal(got, want)


def test_a_trainable_encoder_or_a_zero_budget_gets_no_cache(model, monkeypatch, capsys):
    monkeypatch.setenv(VAL_CACHE_ENV, "0")
    assert validation_encodings(model) is None
    monkeypatch.setenv(VAL_CACHE_ENV, "0.5")
    assert validation_encodings(model).memory_bytes == 1 << 19
    monkeypatch.setenv(VAL_CACHE_ENV, "lots")
    with pytest.raises(HqsegError, match=f"^{VAL_CACHE_ENV}='lots': expected a number of MiB$"):
        validation_encodings(model)
    monkeypatch.delenv(VAL_CACHE_ENV)
    trainable = build_hq_sam("test_vit", freeze_sam=False)
    assert validation_encodings(trainable) is None
    assert "trainable parameters" in capsys.readouterr().out
