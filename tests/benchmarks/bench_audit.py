"""Benchmark: the audit's CPU per record against the decode floor, in the same run.

Usage::

    python tests/benchmarks/bench_audit.py [--records 24] [--sizes 400x300,1024x768,2400x1800]

For each size, generates ``--records`` photo-like JPEG images (quality 90) with PNG
masks (the planted-error tests' generator, upscaled) and measures, one thread
(``cv2.setNumThreads(1)``), CPU seconds per record of:

* **floor**: decoding the image and the mask once (``hqseg.data.records.decode_image``
  and ``decode_mask``: PIL to numpy, full size);
* **audit**: :func:`hqseg.curation.audit.score_record`, all a worker does for one record
  (decode, the JPEG at a reduced draft size; image signals; pHash; mask thumbnail).

Prints both and the ratio audit / floor per size (the goal is <= 2).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curation"))

from planted import photo  # noqa: E402

from hqseg.curation.audit import score_record  # noqa: E402
from hqseg.curation.reader import EncodedRecord  # noqa: E402
from hqseg.data.records import decode_image, decode_mask  # noqa: E402


def _records(n: int, width: int, height: int) -> list[EncodedRecord]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        img, mask = photo(rng)
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        encoded = []
        for array, fmt in ((img, "JPEG"), (mask, "PNG")):
            buf = io.BytesIO()
            Image.fromarray(array).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
            encoded.append({"bytes": buf.getvalue(), "path": None})
        out.append(EncodedRecord(f"bench/{i}", "bench", "train", *encoded))
    return out


def _cpu_per_record(func, records, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for r in records:
            func(r)
        best = min(best, (time.process_time() - start) / len(records))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=24)
    parser.add_argument("--sizes", default="400x300,1024x768,2400x1800")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        records = _records(args.records, width, height)
        score_record(records[0])  # warm-up: imports, tables
        floor = _cpu_per_record(lambda r: (decode_image(r.image), decode_mask(r.mask)), records)
        audit = _cpu_per_record(score_record, records)
        print(
            f"{size:>10}: floor {1000 * floor:7.2f} ms  audit {1000 * audit:7.2f} ms  "
            f"ratio {audit / floor:5.2f}x  ({args.records} records)"
        )


if __name__ == "__main__":
    main()
