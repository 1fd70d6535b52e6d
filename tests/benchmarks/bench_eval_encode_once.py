"""Benchmark: K checkpoints in one ``hqseg eval hq`` (each image encoded once) against K
separate runs, and batched against one-at-a-time images, as whole commands.

    python tests/benchmarks/bench_eval_encode_once.py [--k 3] [--images 8] [--batch-size 4]

CPU seconds are those of the child processes (``getrusage(RUSAGE_CHILDREN)``: the command
and every process it waited for, DataLoader workers included), measured in this run.

The ratio's goal, (1 + 0.1·K)/K, holds when decoding is at most a tenth of a run. With
encoder share ``e`` (the encoder's fraction of one checkpoint's per-image time), K separate
runs cost K while one shared run costs ``e + K·(1 - e)``, so the ratio is
``(e + K·(1 - e)) / K``. The test model's tiny encoder gives a small ``e``; the script
measures it in process and prints the ratio extrapolated to ``--vit-l-share`` (an input,
not measured here: vit_l's encoder dominates SAM's per-image time on every device).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))


def child_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run(args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``hqseg`` with ``args``."""
    cpu, wall = child_cpu(), time.perf_counter()
    cmd = [
        sys.executable,
        "-c",
        "from hqseg.cli import main; main()",
        *args,
        "--model-type",
        "test_vit",
        "--device",
        "cpu",
    ]
    subprocess.run([*cmd, "--no-progress"], check=True, capture_output=True)
    return child_cpu() - cpu, time.perf_counter() - wall


def fixtures(root: Path, k: int, images: int) -> tuple[Path, list[Path]]:
    """A build folder of ``images`` 256² images and ``k`` checkpoints sharing an encoder."""
    import torch
    from evalfakes import make_record, write_build_folder

    from hqseg.modeling import build_hq_sam, save_official_checkpoint

    recs = [make_record(f"b/{i}", "dis_vd", 256, 256, (5 + i, 5, 90, 120)) for i in range(images)]
    build = write_build_folder(root / "build", {"dis_vd": recs})
    torch.manual_seed(0)
    model, paths = build_hq_sam("test_vit"), []
    hq = set(model.hq_parameter_names())
    for i in range(k):
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in hq:
                    p.add_(0.01 * torch.randn_like(p))
        paths.append(root / f"ckpt{i}.pth")
        save_official_checkpoint(model, paths[-1])
    return build, paths


def encoder_share(build: Path, checkpoint: Path, repeats: int = 3) -> float:
    """Encoder time / (encoder + one checkpoint's decode) per image, in process."""
    from hqseg.evaluation.heads import single_heads
    from hqseg.evaluation.hq import HQInputs, resolve_protocol
    from hqseg.evaluation.hq_run import load_benchmarks
    from hqseg.evaluation.predict import load_predictor

    proto = resolve_protocol(load_predictor(None, checkpoint=str(checkpoint)), "square")
    items = list(HQInputs(load_benchmarks(build)["dis_vd"], proto, None, range(2)))
    enc = dec = 0.0
    for _ in range(repeats):
        for item in items:
            t0 = time.process_time()
            features = proto.encode(item["prepared"].image)
            t1 = time.process_time()
            proto.decode(features, item["prepared"], single_heads(("hq",)))
            enc, dec = enc + t1 - t0, dec + time.process_time() - t1
    return enc / (enc + dec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--vit-l-share", type=float, default=0.95)
    args = parser.parse_args()
    k = args.k
    with tempfile.TemporaryDirectory() as tmp:
        build, ckpts = fixtures(Path(tmp), k, args.images)
        base = ["eval", "hq", "--data", str(build), "--no-sam"]
        flags = [x for c in ckpts for x in ("--checkpoint", str(c))]
        shared, _ = run([*base, *flags, "--out", f"{tmp}/multi"])
        separate = sum(
            run([*base, "--checkpoint", str(c), "--out", f"{tmp}/one{i}"])[0]
            for i, c in enumerate(ckpts)
        )
        e = encoder_share(build, ckpts[0])
        one_cpu, one_wall = run([*base, "--checkpoint", str(ckpts[0]), "--out", f"{tmp}/s"])
        batch = ["--batch-size", str(args.batch_size), "--workers", str(args.workers)]
        b_cpu, b_wall = run([*base, "--checkpoint", str(ckpts[0]), *batch, "--out", f"{tmp}/b"])
    goal = (1 + 0.1 * k) / k
    print(f"K={k} checkpoints, {args.images} images (test_vit, CPU seconds of whole commands)")
    print(f"  one shared run {shared:.2f} s, {k} separate runs {separate:.2f} s: "
          f"ratio {shared / separate:.3f} (goal <= {goal:.3f})")  # fmt: skip
    print(f"  encoder share on test_vit e = {e:.3f}: ratio (e + K(1-e))/K = "
          f"{(e + k * (1 - e)) / k:.3f} without start-up costs")  # fmt: skip
    ev = args.vit_l_share
    print(f"  extrapolated to vit_l (e = {ev:.2f}, assumed): {(ev + k * (1 - ev)) / k:.3f}")
    print(f"batched (batch {args.batch_size}, {args.workers} worker(s)) vs one at a time: "
          f"{args.images / b_wall:.2f} vs {args.images / one_wall:.2f} images/s wall, "
          f"{b_cpu:.2f} vs {one_cpu:.2f} CPU s")  # fmt: skip


if __name__ == "__main__":
    main()
