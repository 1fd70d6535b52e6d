"""Benchmark: training validation with the encoding cache, epochs 2..N against epoch 1.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_validation.py [--images 4] [--epochs 4]

Epoch 1 encodes every validation image and fills the cache; epochs 2..N run only the
prompt encoder and decoder (plus the cache's key: a sha256 of the model input). Printed,
all measured in this run (CPU seconds of the process, so a shared machine does not move
them; on --device cuda they miss the GPU's work):

* ``T_plain``: one validation without the cache; ``T_1``: the first cached one;
  ``T_k``: the mean of epochs 2..N; the ratio ``T_k / T_1`` (goal <= 0.1 per epoch);
* the encoder share ``s = E / T_plain`` (``E``: the encoder's own time on the same
  images), small on the test model;
* the ratio extrapolated to a real encoder's share ``S`` (ViT-L: 0.90-0.99), keeping the
  measured non-encoder work: ``r(S) = (1 - S) * T_k / (T_plain - E)``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _records(n: int) -> list[dict]:
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        h, w = int(rng.integers(300, 700)), int(rng.integers(300, 700))
        mask = np.zeros((h, w), np.uint8)
        mask[h // 5 : h * 3 // 5, w // 4 : w * 3 // 4] = 255
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out.append({"id": str(i), "image": Image.fromarray(image), "mask": Image.fromarray(mask)})
    return out


def _timed(fn) -> float:
    """CPU seconds of this process (all its threads) spent in ``fn()``."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def _encoder_seconds(model, records, device: str) -> float:
    """The encoder's own time on the validation images (prepared as validation does)."""
    from hqseg.data.records import decode_image
    from hqseg.evaluation.hq import decode_gt, resolve_protocol

    proto = resolve_protocol(model)
    prepared = [proto.prepare(decode_image(r["image"]), decode_gt(r["mask"])) for r in records]
    return sum(_timed(lambda p=p: proto.model.encode_image(p.image)) for p in prepared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--model-type", default="test_vit")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from hqseg.modeling import build_hq_sam
    from hqseg.training.validation import validate, validation_encodings

    torch.manual_seed(0)
    model = build_hq_sam(args.model_type, freeze_sam=True).to(args.device).eval()
    splits = {"dis_vd": _records(args.images)}
    validate(model, {"dis_vd": splits["dis_vd"][:1]})  # warm-up (first-call costs)
    t_plain = _timed(lambda: validate(model, splits))
    cache = validation_encodings(model)
    times = [_timed(lambda: validate(model, splits, encodings=cache)) for _ in range(args.epochs)]
    t_1, t_k = times[0], sum(times[1:]) / max(1, len(times) - 1)
    enc = _encoder_seconds(model, splits["dis_vd"], args.device)
    share = enc / t_plain
    rest = max(t_plain - enc, 1e-9)
    print(
        f"{args.images} images, {args.model_type} on {args.device}, CPU seconds: validation "
        f"without cache {t_plain:.2f} s; epoch 1 (fills the cache) {t_1:.2f} s; "
        f"epochs 2..{args.epochs} {t_k:.2f} s each: x{t_k / t_1:.3f} of epoch 1 (goal <= 0.1)"
    )
    print(f"encoder share measured: {share:.3f} ({enc:.2f} s of {t_plain:.2f} s)")
    for big in (0.90, 0.95, 0.99):
        print(
            f"extrapolated at encoder share {big:.2f} (ViT-L range): x{(1 - big) * t_k / rest:.3f}"
            f" of epoch 1  [r(S) = (1 - S) * T_k / (T_plain - E)]"
        )


if __name__ == "__main__":
    main()
