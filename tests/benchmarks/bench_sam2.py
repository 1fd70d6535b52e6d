"""Per-image time of HQ-SAM 2 vs the SAM 2.1 baseline (same encoder, same run), and the
size of the HQ additions.

    python tests/benchmarks/bench_sam2.py                      # test_hiera
    python tests/benchmarks/bench_sam2.py --model-type sam2.1_hiera_t --repeats 2

Each image is encoded once per model and decoded for ``--boxes`` box prompts; the HQ
side decodes HQ-token-only masks (HQ decoder: one transformer pass with the HQ token,
plus ``embedding_maskfeature`` on the 256x256 upscaled embedding), the baseline SAM
2.1's own decoder pass. Random weights (speed does not depend on them). Prints the
median of ``--repeats`` timings and the ratio HQ / baseline from the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hqseg.modeling.sam2_hq import build_hq_sam2


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-type", default="test_hiera")
    parser.add_argument("--boxes", type=int, default=8, help="box prompts per image")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = build_hq_sam2(args.model_type).eval()
    hq_params = sum(p.numel() for p in model.hq_parameters())
    total = sum(p.numel() for p in model.parameters())
    print(f"{args.model_type}: HQ additions {hq_params:,} parameters of {total:,}")

    image = torch.randint(0, 256, (1, 3, 1024, 1024)).float()
    xy = torch.rand(args.boxes, 2) * 600
    boxes = torch.cat([xy, xy + 200 + torch.rand(args.boxes, 2) * 200], dim=1)

    def per_image(mask_type: str):
        def run():
            with torch.inference_mode():
                embed, high_res = model.encode(model.preprocess(image))
                model.decode(embed, high_res, boxes=boxes, mask_type=mask_type)

        return run

    with torch.inference_mode():
        embed, high_res = model.encode(model.preprocess(image))

    def decode_only(mask_type: str):
        def run():
            with torch.inference_mode():
                model.decode(embed, high_res, boxes=boxes, mask_type=mask_type)

        return run

    rows = {
        "per image (encode + decode)": (per_image("hq"), per_image("sam")),
        "decoder only": (decode_only("hq"), decode_only("sam")),
    }
    print(f"{args.boxes} boxes per image, median of {args.repeats}, {args.threads} thread(s)")
    print(f"{'':30s} {'HQ-SAM 2':>10s} {'SAM 2.1':>10s} {'ratio':>7s}")
    for name, (hq_fn, base_fn) in rows.items():
        hq_t, base_t = _time(hq_fn, args.repeats), _time(base_fn, args.repeats)
        print(f"{name:30s} {hq_t:9.3f}s {base_t:9.3f}s {hq_t / base_t:7.3f}")


if __name__ == "__main__":
    main()
