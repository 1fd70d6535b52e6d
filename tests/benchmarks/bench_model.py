"""Per-image time of HQ-SAM against plain SAM with the same image encoder.

Both models share every SAM weight (random, seeded); plain SAM is segment_anything's
own ``Sam`` with its ``MaskDecoder`` (for ``vit_tiny``: Light HQ-SAM against MobileSAM,
same TinyViT). One "image" = encoder forward + decoder for
``--boxes`` box prompts, under ``torch.inference_mode()``. Runs alternate between the
two models and the median is reported, so drifting machine load affects both alike.

    python tests/benchmarks/bench_model.py                       # vit_b on CPU, fp32
    python tests/benchmarks/bench_model.py --device cuda --dtype bf16 --repeats 20
    python tests/benchmarks/bench_model.py --model-type vit_tiny    # Light HQ-SAM / MobileSAM

Prints the HQ parameter count, per-image times, the HQ/base ratio (goal for vit_b:
overhead <= 3 %), and the decoder-only times and ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from hqseg.modeling import build_hq_sam, build_plain_sam
from hqseg.modeling.model_types import MODEL_TYPES

CHOICES = sorted(n for n, m in MODEL_TYPES.items() if m.line in ("vit", "tinyvit"))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-type", default="vit_b", choices=CHOICES)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--boxes", type=int, default=4, help="box prompts per image")
    parser.add_argument("--repeats", type=int, default=3, help="timed images per model")
    parser.add_argument("--warmup", type=int, default=1, help="untimed images per model")
    parser.add_argument("--hq-token-only", action="store_true", help="HQ logits alone")
    args = parser.parse_args()

    device = torch.device(args.device)
    torch.manual_seed(0)
    hq = build_hq_sam(args.model_type).to(device).eval()
    sam = build_plain_sam(args.model_type)
    sam.load_state_dict(
        {k: v for k, v in hq.state_dict().items() if k in sam.state_dict()}, strict=True
    )
    sam = sam.to(device).eval()

    gen = torch.Generator().manual_seed(1)
    image = torch.randn(1, 3, 1024, 1024, generator=gen).to(device)
    xy = torch.rand(args.boxes, 2, generator=gen) * 600
    boxes = torch.cat([xy, xy + 100 + torch.rand(args.boxes, 2, generator=gen) * 300], 1)
    boxes = boxes.to(device)

    def autocast():
        if args.dtype == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run_sam(emb=None):
        if emb is None:
            emb = sam.image_encoder(image)
            emb = emb[0] if isinstance(emb, tuple) else emb  # the authors' TinyViT
        sparse, dense = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
        sam.mask_decoder(emb, sam.prompt_encoder.get_dense_pe(), sparse, dense, False)
        return emb

    def run_hq(emb=None):
        emb = hq.encode(image) if emb is None else emb
        hq.decode(*emb, boxes=boxes, hq_token_only=args.hq_token_only)
        return emb

    def timed(fn, *a) -> float:
        sync(device)
        start = time.perf_counter()
        fn(*a)
        sync(device)
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"sam": [], "hq": [], "sam_dec": [], "hq_dec": []}
    with torch.inference_mode(), autocast():
        sam_emb, hq_emb = run_sam(), run_hq()
        for i in range(args.warmup + args.repeats):
            sample = {
                "sam": timed(run_sam),
                "hq": timed(run_hq),
                "sam_dec": min(timed(run_sam, sam_emb) for _ in range(3)),
                "hq_dec": min(timed(run_hq, hq_emb) for _ in range(3)),
            }
            if i >= args.warmup:
                for k, v in sample.items():
                    times[k].append(v)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"model {args.model_type}, device {device}, {args.dtype}, {args.boxes} boxes/image, "
        f"median of {args.repeats}, torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    n_hq = sum(p.numel() for n, p in hq.named_parameters() if n in set(hq.hq_parameter_names()))
    n_all = sum(p.numel() for p in hq.parameters())
    print(f"HQ parameters {n_hq:,} of {n_all:,} ({100 * n_hq / n_all:.2f} %)")
    print(f"per image   SAM {med['sam'] * 1e3:9.1f} ms   HQ-SAM {med['hq'] * 1e3:9.1f} ms")
    ratio = med["hq"] / med["sam"]
    print(f"per-image ratio HQ-SAM / SAM = {ratio:.4f}  (overhead {100 * (ratio - 1):+.2f} %)")
    print(f"decoder     SAM {med['sam_dec'] * 1e3:9.1f} ms   HQ-SAM {med['hq_dec'] * 1e3:9.1f} ms")
    extra = med["hq_dec"] - med["sam_dec"]
    print(
        f"decoder ratio {med['hq_dec'] / med['sam_dec']:.3f}; HQ decoder extra time = "
        f"{100 * extra / med['sam']:.2f} % of SAM's per-image time"
    )


if __name__ == "__main__":
    main()
