"""Benchmark: box-prompted evaluation with one encoding per image and one decoder pass for
SAM + HQ-SAM, against the naive loop (encode per box, decode once per mask type).

    python tests/benchmarks/bench_eval_prompts.py [--boxes 4] [--model-type test_vit]

Prints the wall time of each and the speed-up ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boxes", type=int, default=4)
    parser.add_argument("--model-type", default="test_vit")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from hqseg.evaluation.predict import BoxPrompter, load_predictor

    predictor = load_predictor(args.model_type, device=args.device)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    x0 = rng.uniform(0, 200, args.boxes)
    y0 = rng.uniform(0, 140, args.boxes)
    boxes = np.stack([x0, y0, x0 + 100, y0 + 90], 1).astype(np.float32)
    types = ("sam", "sum")

    t = time.perf_counter()
    for box in boxes:  # naive: what a per-annotation loop does
        predictor.set_image(image)
        for mask_type in types:
            predictor.predict_boxes(box[None], mask_type=mask_type, return_logits=True)
    naive = time.perf_counter() - t

    t = time.perf_counter()
    BoxPrompter(predictor)(image, boxes, types)
    ours = time.perf_counter() - t
    print(
        f"{args.boxes} boxes, {args.model_type}: naive {naive:.2f} s, "
        f"hqseg {ours:.2f} s, speed-up x{naive / ours:.1f}"
    )


if __name__ == "__main__":
    main()
