"""Benchmark: hqseg's training data path against the authors' loader logic, CPU per sample.

Usage::

    python tests/benchmarks/bench_data_path.py [--samples 8] [--min-side 1500] [--max-side 3000]

Generates ``--samples`` photo-like JPEG images with soft-edged PNG masks, long side
uniform in [min-side, max-side], and runs both paths on the same encoded bytes, one
thread each (``torch.set_num_threads(1)``, ``cv2.setNumThreads(1)``), so the CPU
seconds are per core:

* **hqseg**: ``HQTrainDataset.__getitem__`` (decode, flip + large-scale jitter on the
  crop window in uint8, one prompt per sample);
* **authors**: the recipe as the official ``train/utils/dataloader.py`` and
  ``train/train.py`` compute it (FACTS §3), re-implemented here: decode, whole image
  to a float tensor, flip of the whole image, bilinear resize of the whole image
  to the jittered size, crop, pad; then box, 10 points and the noise mask (the
  official loop computes all three prompt types for every sample).

Decoding is the same PIL call in both. Prints CPU ms per sample of each and the ratio
hqseg / authors from this one run (the goal is <= 0.7).
"""

from __future__ import annotations

import argparse
import io
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from hqseg.data.records import decode_image, decode_mask
from hqseg.training.config import TrainConfig
from hqseg.training.data import HQTrainDataset


def make_samples(n: int, lo: int, hi: int, seed: int = 0) -> list[dict]:
    """Records like a build's: {"image": {"bytes": JPEG}, "mask": {"bytes": PNG}}."""
    g = np.random.default_rng(seed)
    records = []
    for i in range(n):
        long_side = int(g.integers(lo, hi + 1))
        short = int(long_side * g.uniform(0.6, 0.9))
        h, w = (short, long_side) if i % 2 else (long_side, short)
        small = g.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3)).astype(np.uint8)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        image = cv2.add(image, g.integers(0, 24, (h, w, 3)).astype(np.uint8))
        yy, xx = np.ogrid[:h, :w]
        blob = ((yy - h * 0.5) / (h * 0.3)) ** 2 + ((xx - w * 0.5) / (w * 0.25)) ** 2 < 1
        mask = cv2.GaussianBlur(blob.astype(np.uint8) * 255, (9, 9), 0)
        jpg, png = io.BytesIO(), io.BytesIO()
        Image.fromarray(image).save(jpg, format="JPEG", quality=90)
        Image.fromarray(mask).save(png, format="PNG")
        records.append({"image": {"bytes": jpg.getvalue()}, "mask": {"bytes": png.getvalue()}})
    return records


# ---------------------------------------------------------------- authors' logic (baseline)
def authors_sample(record: dict, rng: np.random.RandomState) -> dict:
    """One sample the official way (see module doc); ``rng`` replaces their global RNGs."""
    im = torch.tensor(decode_image(record["image"]).copy(), dtype=torch.float32).permute(2, 0, 1)
    gt = torch.tensor(decode_mask(record["mask"]), dtype=torch.float32)[None]
    if rng.rand() >= 0.5:  # their RandomHFlip: the whole image
        im, gt = torch.flip(im, dims=[2]), torch.flip(gt, dims=[2])
    size = torch.tensor(im.shape[-2:])
    scale = rng.uniform(0.1, 2.0)
    scaled = torch.tensor(round(scale * 1024))
    factor = torch.minimum(scaled / size[0], scaled / size[1])
    sh, sw = (size * factor).round().long().tolist()
    im = F.interpolate(im[None], (sh, sw), mode="bilinear")[0]  # whole image, float
    gt = F.interpolate(gt[None], (sh, sw), mode="bilinear")[0]
    ch, cw = min(1024, sh), min(1024, sw)
    top, left = rng.randint(0, sh - ch + 1), rng.randint(0, sw - cw + 1)
    im, gt = im[:, top : top + ch, left : left + cw], gt[:, top : top + ch, left : left + cw]
    im = F.pad(im, [0, 1024 - cw, 0, 1024 - ch], value=128)
    gt = F.pad(gt, [0, 1024 - cw, 0, 1024 - ch], value=0)
    # prompts, as train.py computes them for every sample
    fg = gt[0] > 0
    ys, xs = torch.nonzero(fg, as_tuple=True)
    box = torch.stack([xs.min(), ys.min(), xs.max(), ys.max()]).float()
    pick = torch.from_numpy(rng.randint(0, len(xs), 10))
    points = torch.stack([xs[pick], ys[pick]], dim=1)
    m = F.interpolate(gt[None], size=(256, 256), mode="bilinear") / 255.0
    small = F.interpolate(m, size=(32, 32), mode="bilinear")
    band = (m - F.interpolate(small, size=(256, 256), mode="bilinear")).abs() >= 0.01
    noise = (m + torch.randn_like(m) * band) > 0.5
    return {"image": im, "label": gt, "box": box, "points": points, "noise": noise}


def cpu_per_sample(fn, items) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - start) / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--min-side", type=int, default=1500)
    ap.add_argument("--max-side", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3, help="passes over the samples")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    records = make_samples(args.samples, args.min_side, args.max_side)
    dataset = HQTrainDataset(records, config=TrainConfig(model_type="test_vit"))
    keys = [(epoch, i) for epoch in range(args.repeats) for i in range(len(records))]
    rng = np.random.RandomState(0)
    hq_path = lambda key: dataset[key]  # noqa: E731
    authors = lambda key: authors_sample(records[key[1]], rng)  # noqa: E731
    cpu_per_sample(hq_path, keys[:2])  # warm-up (imports, allocator)
    cpu_per_sample(authors, keys[:2])
    t_hq = cpu_per_sample(hq_path, keys)
    t_auth = cpu_per_sample(authors, keys)
    t_decode = cpu_per_sample(
        lambda key: (decode_image(records[key[1]]["image"]), decode_mask(records[key[1]]["mask"])),
        keys,
    )
    print(
        f"{len(keys)} samples ({args.samples} images, {args.min_side}-{args.max_side} px), 1 thread"
    )
    print(f"  decode only (both)   {1000 * t_decode:8.1f} CPU ms/sample")
    for name, t in (("authors' loader", t_auth), ("hqseg data path", t_hq)):
        print(f"  {name:20s} {1000 * t:8.1f} CPU ms/sample  ({1 / t:.2f} samples/s/core)")
    print(f"  ratio hqseg/authors  {t_hq / t_auth:8.2f}x   (goal <= 0.70)")


if __name__ == "__main__":
    main()
