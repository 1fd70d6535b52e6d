"""GPU benchmark: hqseg training and evaluation speed against the HQ-SAM authors' code.

    python tests/benchmarks/bench_gpu.py [--authors DIR] [--steps 12] [--images 24]

One command, under 10 minutes on one GPU, random weights throughout (no download):

* ``hqseg train`` step (the loop's own ``backward_micro_batch`` + Adam step, batches made
  by ``HQTrainDataset`` from synthetic records), ViT-L, batch 4: images/s and peak GPU
  memory; against the authors' training step of SysCV/sam-hq ``train/train.py`` (their
  ``sam_model_registry`` SAM without gradients, their ``MaskDecoderHQ``, their
  ``loss_masks``, Adam), box prompts on both sides, the same images;
* ``eval hq`` (:func:`hqseg.evaluation.hq.evaluate_hq_split`, the authors' protocol):
  images/s against their ``evaluate`` step (SAM forward, HQ decoder, ``compute_iou`` and
  ``compute_boundary_iou`` against the original-size GT);
* HQ-SAM 2 (``sam2.1_hiera_l``) and Light HQ-SAM (``vit_tiny``): hqseg train and eval
  images/s.

The authors' code comes from ``--authors DIR`` (a clone of SysCV/sam-hq) or from a
``train/train.py`` already importable through PYTHONPATH; it needs their requirements
(opencv-python, matplotlib, scikit-image). Without it their columns say why they are missing. Goals
printed beside the numbers: training >= 1.5x the authors' images/s per GPU at equal
loss (the same point-sampled BCE + dice, 112^2 points), evaluation >= 3x, peak memory
no higher. Without CUDA it prints one line saying why it skips and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

SKIP_PREFIX = "bench_gpu: skipped:"
DEVICE = "cuda"  # a smoke run of the script's plumbing may set "cpu" (then no memory figure)


def _cuda_missing() -> str | None:
    import torch

    if not torch.cuda.is_available():
        return f"{SKIP_PREFIX} CUDA is not available (torch {torch.__version__}); run it on a GPU"
    return None


# ---------------------------------------------------------------------- shared inputs
def _records(n: int, size: int = 1024, seed: int = 0) -> list[dict]:
    """Synthetic records: ``size``² RGB noise with one rectangular object (PIL images)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        y0, x0 = rng.integers(50, size // 2, 2)
        mask[y0 : y0 + size // 3, x0 : x0 + size // 4] = 255
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        out.append({"id": str(i), "split": "bench",
                    "image": Image.fromarray(image), "mask": Image.fromarray(mask)})  # fmt: skip
    return out


def _rate(fn, count: int, images_each: int) -> float:
    """Images/s of ``count`` calls of ``fn`` (after one warm-up call), CUDA-synchronised."""

    fn()
    _sync()
    t = time.perf_counter()
    for _ in range(count):
        fn()
    _sync()
    return count * images_each / (time.perf_counter() - t)


def _sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _peak(fn) -> tuple[object, float]:
    """``fn()``'s result and the peak GPU memory allocated while it ran (GiB)."""
    import torch

    if DEVICE != "cuda":
        return fn(), float("nan")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    result = fn()
    return result, torch.cuda.max_memory_allocated() / 2**30


# ---------------------------------------------------------------------- hqseg
def hqseg_train(model_type: str, records: list[dict], steps: int, batch: int) -> dict:
    """hqseg's training step (box prompts): images/s, peak GiB, last loss."""
    import torch

    from hqseg.modeling import build_hq_sam
    from hqseg.training.config import TrainConfig
    from hqseg.training.data import HQTrainDataset
    from hqseg.training.step import backward_micro_batch

    device = torch.device(DEVICE)
    cfg = TrainConfig(model_type=model_type, batch_size=batch, prompt_types=["box"],
                      device=DEVICE, num_workers=0)  # fmt: skip
    dataset = HQTrainDataset(records, config=cfg)
    batches = [
        torch.utils.data.default_collate([dataset[(0, i)] for i in range(s, s + batch)])
        for s in range(0, len(records) - batch + 1, batch)
    ]
    model = build_hq_sam(model_type, freeze_sam=True).to(device)
    model.image_encoder.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    losses, gen = [], torch.Generator(device).manual_seed(0)
    counter = iter(range(10**9))

    def step() -> None:
        parts = backward_micro_batch(model, batches[next(counter) % len(batches)],
                                     config=cfg, device=device, generator=gen)  # fmt: skip
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(parts.total))

    rate, peak = _peak(lambda: _rate(step, steps, batch))
    return {"images_per_s": rate, "peak_gib": peak, "loss": losses[-1]}


def hqseg_eval(model_type: str, records: list[dict]) -> dict:
    """``eval hq``'s path (the authors' protocol, HQ mask type): images/s, peak GiB."""
    from hqseg.evaluation.hq import evaluate_hq_split
    from hqseg.modeling import build_hq_sam

    model = build_hq_sam(model_type).to(DEVICE).eval()
    run = lambda: evaluate_hq_split(model, records, progress=False)  # noqa: E731
    rate, peak = _peak(lambda: _rate(run, 1, len(records)))
    return {"images_per_s": rate, "peak_gib": peak}


# ---------------------------------------------------------------------- the authors'
def load_authors(authors: str | None):
    """The authors' ``train/train.py`` as a module, or a string saying why not.

    Their ``MaskDecoderHQ`` loads ``pretrained_checkpoint/sam_<type>_maskdecoder.pth``
    from the working folder; the caller runs in a temp folder holding a random one.
    """
    roots = [Path(authors) / "train"] if authors else [Path(p) for p in sys.path if p]
    found = next((r / "train.py" for r in roots if (r / "train.py").is_file()
                  and (r / "segment_anything_training").is_dir()), None)  # fmt: skip
    if found is None:
        where = f"--authors {authors}" if authors else "PYTHONPATH"
        return f"no SysCV/sam-hq train/train.py found through {where}; pass --authors DIR"
    sys.path.insert(0, str(found.parent))
    try:
        spec = importlib.util.spec_from_file_location("authors_train", found)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 -- their requirements may be missing
        return f"the authors' train.py does not import ({type(exc).__name__}: {exc})"
    return module


def _authors_models(mod, model_type: str, workdir: Path):
    """Their SAM (random weights) and MaskDecoderHQ (random SAM decoder underneath)."""
    import torch
    from torch import nn

    decoder = mod.MaskDecoder(transformer_dim=256, transformer=mod.TwoWayTransformer(
        depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8), num_multimask_outputs=3,
        activation=nn.GELU, iou_head_depth=3, iou_head_hidden_dim=256)  # fmt: skip
    (workdir / "pretrained_checkpoint").mkdir(exist_ok=True)
    torch.save(
        decoder.state_dict(), workdir / f"pretrained_checkpoint/sam_{model_type}_maskdecoder.pth"
    )
    sam = mod.sam_model_registry[model_type](checkpoint=None).to(DEVICE).eval()
    net = mod.MaskDecoderHQ(model_type).to(DEVICE)
    return sam, net


def _authors_forward(mod, sam, net, images, labels, *, train: bool):
    boxes = mod.misc.masks_to_boxes(labels[:, 0])
    batched = [{"image": img, "boxes": boxes[i : i + 1], "original_size": img.shape[1:]}
               for i, img in enumerate(images)]  # fmt: skip
    import torch

    with torch.no_grad():
        out, interm = sam(batched, multimask_output=False)
    return net(
        image_embeddings=torch.cat([o["encoder_embedding"] for o in out], dim=0),
        image_pe=[o["image_pe"] for o in out],
        sparse_prompt_embeddings=[o["sparse_embeddings"] for o in out],
        dense_prompt_embeddings=[o["dense_embeddings"] for o in out],
        multimask_output=False,
        hq_token_only=train,
        interm_embeddings=interm,
    )


def _tensors(records: list[dict]):
    import numpy as np
    import torch

    images = [torch.as_tensor(np.array(r["image"])).permute(2, 0, 1).contiguous().to(DEVICE)
              for r in records]  # fmt: skip
    labels = torch.stack([torch.as_tensor(np.array(r["mask"]), dtype=torch.float32)[None]
                          for r in records]).to(DEVICE)  # fmt: skip
    return images, labels


def authors_train(mod, model_type: str, records, steps: int, batch: int, workdir: Path) -> dict:
    import torch

    sam, net = _authors_models(mod, model_type, workdir)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    images, labels = _tensors(records)
    losses, counter = [], iter(range(10**9))

    def step() -> None:
        s = (next(counter) * batch) % (len(records) - batch + 1)
        masks_hq = _authors_forward(mod, sam, net, images[s : s + batch],
                                    labels[s : s + batch], train=True)  # fmt: skip
        loss_mask, loss_dice = mod.loss_masks(masks_hq, labels[s : s + batch] / 255.0, batch)
        loss = loss_mask + loss_dice
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))

    net.train()
    rate, peak = _peak(lambda: _rate(step, steps, batch))
    return {"images_per_s": rate, "peak_gib": peak, "loss": losses[-1]}


def authors_eval(mod, model_type: str, records, workdir: Path) -> dict:
    import torch

    sam, net = _authors_models(mod, model_type, workdir)
    net.eval()
    images, labels = _tensors(records)

    def run() -> None:
        for i in range(len(records)):
            with torch.no_grad():
                _, masks_hq = _authors_forward(mod, sam, net, images[i : i + 1],
                                               labels[i : i + 1], train=False)  # fmt: skip
            mod.compute_iou(masks_hq, labels[i : i + 1])
            mod.compute_boundary_iou(masks_hq, labels[i : i + 1])

    rate, peak = _peak(lambda: _rate(run, 1, len(records)))
    return {"images_per_s": rate, "peak_gib": peak}


# ---------------------------------------------------------------------- report
def _row(name: str, ours: dict, theirs: dict | str, goal: float) -> str:
    text = f"{name:<22} hqseg {ours['images_per_s']:7.2f} img/s, peak {ours['peak_gib']:6.2f} GiB"
    if "loss" in ours:
        text += f", loss {ours['loss']:.4f}"
    if isinstance(theirs, str):
        return f"{text} | authors: {theirs}"
    ratio = ours["images_per_s"] / theirs["images_per_s"]
    memory = "ok" if ours["peak_gib"] <= theirs["peak_gib"] else "HIGHER"
    text += (f" | authors {theirs['images_per_s']:7.2f} img/s, peak {theirs['peak_gib']:6.2f} GiB"
             + (f", loss {theirs['loss']:.4f}" if "loss" in theirs else "")
             + f" | x{ratio:.2f} (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'}),"
             f" memory {memory} (goal: no higher)")  # fmt: skip
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors", help="a clone of SysCV/sam-hq (default: PYTHONPATH)")
    parser.add_argument("--steps", type=int, default=12, help="timed training steps")
    parser.add_argument("--images", type=int, default=24, help="evaluation images")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    skip = _cuda_missing()
    if skip:
        print(skip)
        return 0
    import torch

    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
    train_recs, eval_recs = _records(4 * args.batch), _records(args.images, seed=1)
    authors = load_authors(args.authors)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # the authors' decoder reads pretrained_checkpoint/ from here
        try:
            pairs = (("train vit_l", _train_pair, 1.5), ("eval hq vit_l", _eval_pair, 3.0))
            for name, fn, goal in pairs:
                ours, theirs = fn(authors, train_recs, eval_recs, args, Path(tmp))
                print(_row(name, ours, theirs, goal), flush=True)
        finally:
            os.chdir(cwd)
    for model_type in ("sam2.1_hiera_l", "vit_tiny"):
        ours = hqseg_train(model_type, train_recs, args.steps, args.batch)
        print(_row(f"train {model_type}", ours, "no authors' counterpart here", 0), flush=True)
        ours = hqseg_eval(model_type, eval_recs)
        print(_row(f"eval hq {model_type}", ours, "no authors' counterpart here", 0), flush=True)
    return 0


def _train_pair(authors, train_recs, _eval_recs, args, tmp: Path):
    ours = hqseg_train("vit_l", train_recs, args.steps, args.batch)
    if isinstance(authors, str):
        return ours, authors
    return ours, authors_train(authors, "vit_l", train_recs, args.steps, args.batch, tmp)


def _eval_pair(authors, _train_recs, eval_recs, _args, tmp: Path):
    ours = hqseg_eval("vit_l", eval_recs)
    if isinstance(authors, str):
        return ours, authors
    return ours, authors_eval(authors, "vit_l", eval_recs, tmp)


if __name__ == "__main__":
    sys.exit(main())
