"""Mixed precision is measured and said: the encoder's deviation from float32 on the
first batch (CPU bfloat16 autocast).

The encoder here is the tiny test model's decoder behind a conv-free encoder (a seeded
projection of 16x16 patch means): on CPUs without native bfloat16 (AVX2) torch runs a
bfloat16 convolution on its slow reference kernel, ~40x float32, which made these tests
a minute and a half long. The real ViT under bfloat16 autocast is run once, in
tests/modeling/test_predictor.py::test_bf16_autocast_runs_on_cpu."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from evalfakes import make_record

from hqseg.evaluation.amp_check import mask_iou, report_amp
from hqseg.evaluation.heads import single_heads
from hqseg.evaluation.hq import HQInputs, run_hq_split
from hqseg.evaluation.image_encoder import ImageEncoder
from hqseg.evaluation.protocol import HQProtocol

pytestmark = pytest.mark.slow


class PatchMeanEncoder:
    """The model interface of :mod:`hqseg.evaluation.protocol` with the real decoder of
    ``predictor`` and a conv-free encoder: 16x16 patch means projected by seeded
    matrices to the real features' shapes (matmuls, which autocast runs in bfloat16)."""

    def __init__(self, predictor) -> None:
        self.predictor = predictor
        self.image_size = predictor.image_size
        self.pixel_mean, self.pixel_std = predictor.pixel_mean, predictor.pixel_std
        with torch.inference_mode():
            emb, interm = predictor.encode_image(torch.zeros(1, 3, 1024, 1024))
        gen = torch.Generator().manual_seed(0)
        self.emb_shape, self.interm_shape = emb.shape[1:], interm.shape[1:]
        self.w_emb = torch.randn(3, emb[0].numel() // 4096, generator=gen)
        self.w_interm = torch.randn(3, interm[0].numel() // 4096, generator=gen)

    def encode_image(self, images: torch.Tensor):
        patches = F.avg_pool2d(images, 16).flatten(2).transpose(1, 2)  # [B, 4096, 3]
        emb = (patches @ self.w_emb).transpose(1, 2).reshape(-1, *self.emb_shape)
        interm = (patches @ self.w_interm).reshape(-1, *self.interm_shape)
        return emb, interm

    def decode_boxes(self, *args, **kwargs):
        return self.predictor.decode_boxes(*args, **kwargs)


@pytest.fixture(scope="module")
def predictor():
    from hqseg.evaluation.predict import as_predictor
    from hqseg.modeling import build_hq_sam

    torch.manual_seed(0)
    return PatchMeanEncoder(as_predictor(build_hq_sam("test_vit")))


@pytest.fixture(scope="module")
def records():
    return [make_record(f"r/{i}", "dis_vd", 256, 256, (20, 30, 180, 200)) for i in range(2)]


def test_report_amp_measures_bf16_against_float32(predictor, records):
    proto = HQProtocol(predictor)
    prepared = HQInputs(records, proto, None, range(1))[0]["prepared"]
    fp32 = ImageEncoder(predictor, "square", 1024)(prepared.image)
    bf16 = ImageEncoder(predictor, "square", 1024, amp=torch.bfloat16)(prepared.image)
    assert bf16[0].dtype == torch.float32  # cast back for the float32 decoder
    head = single_heads(("hq",))

    def decode_first(features):
        return proto.decode(features, prepared, head)[head[0]]

    lines = []
    found = report_amp("bfloat16", fp32, bf16, decode_first, lines.append)
    expected = float((bf16[0] - fp32[0]).abs().max())
    assert found["max_abs_embedding"] == expected
    # bfloat16 keeps 8 bits of mantissa: the embedding moves, by far less than its scale
    assert 0 < expected < 0.1 * float(fp32[0].abs().max())
    assert found["mask_iou"] == mask_iou(decode_first(fp32), decode_first(bf16))
    assert 0.5 < found["mask_iou"] <= 1.0
    [line] = lines
    assert line.startswith("bfloat16 encoder vs float32") and f"{expected:.3g}" in line
    same = report_amp("float32", fp32, fp32, decode_first, lines.append)
    assert same == {"max_abs_embedding": 0.0, "mask_iou": 1.0}


def test_a_run_under_amp_says_its_deviation_once(predictor, records):
    proto = HQProtocol(predictor, amp=torch.bfloat16)
    lines = []
    run_hq_split(proto, records, batch_size=2, progress=False, say=lines.append)
    assert len(lines) == 1 and "bfloat16 encoder vs float32 on the first batch" in lines[0]
    quiet = []
    run_hq_split(HQProtocol(predictor), records[:1], progress=False, say=quiet.append)
    assert quiet == []


def test_mask_iou():
    a = torch.zeros(4, 4, dtype=torch.bool)
    b = a.clone()
    a[:2], b[1:3] = True, True
    assert mask_iou(a.numpy(), b.numpy()) == pytest.approx(1 / 3)
    assert mask_iou(a.numpy() & False, b.numpy() & False) == 1.0


@pytest.mark.parametrize("native", [False, True])
def test_cpu_bf16_without_native_kernels_is_said(native, monkeypatch, capsys):
    from hqseg.cli.eval_checkpoints import amp_settings

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    assert amp_settings("bf16", False, "cpu") == (True, None)
    assert amp_settings(None, True, "cpu") == (True, None)
    assert amp_settings(None, False, "cpu") == (False, None)
    err = capsys.readouterr().err
    assert err.count("no native bfloat16 kernels") == (0 if native else 2)
