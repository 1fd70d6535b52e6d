"""HQ benchmarks (DIS-VD, COIFT, HRSOD, ThinObject-5K test) with GT-box prompts (FACTS §4).

Per image: prompt with the tight box of GT > 128, take the requested mask types
(``"hq"``: HQ-token only; ``"sam"``: plain SAM baseline), upsample the 256² logits
bilinearly to the GT size (``resize_mode="square"``, the authors' protocol: straight
from 256² since the input was a 1024² resize; ``"longest_side"``: padding removed
first, as SAM's postprocess does), threshold at > 0, and score mask IoU and boundary IoU against
GT > 128. Benchmark scores are means over images.

Units: per-image ``iou``/``biou`` are fractions in [0, 1]; summaries (``mIoU``,
``mBIoU``) are percentages, like the paper's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from hqseg.evaluation.boxes import binarize_gt, mask_to_box
from hqseg.evaluation.evaluator import DatasetEvaluator, inference_on_dataset
from hqseg.evaluation.predict import MODEL_NAMES, BoxPrompter, as_predictor
from hqseg.metrics import boundary_iou, mask_iou

BENCHMARKS: dict[str, str] = {
    "dis_vd": "DIS-VD",
    "coift": "COIFT",
    "hrsod": "HRSOD",
    "thin": "ThinObject-5K",
}
"""Split name in the build's ``hq_eval`` config -> display name."""

PER_IMAGE_COLUMNS = ("id", "benchmark", "model", "iou", "biou", "height", "width")


def hq_inputs(records: Iterable[dict], benchmark: str | None = None) -> Iterator[dict]:
    """Decode records into evaluation inputs.

    Yields:
        ``{"id", "benchmark", "image": (H, W, 3) uint8, "gt": (H, W) bool,
        "box": (4,) XYXY or None, "skip": reason or None}``.
    """
    from hqseg.data.records import decode_image, decode_mask

    for rec in records:
        bench = benchmark or rec.get("split") or "unknown"
        image = decode_image(rec["image"])
        gt = binarize_gt(decode_mask(rec["mask"]))
        skip = None
        if gt.shape != image.shape[:2]:
            skip = f"mask size {gt.shape[::-1]} differs from image size {image.shape[1::-1]}"
        box = mask_to_box(gt)
        if box is None:
            skip = "empty ground-truth mask (no pixel > 128)"
        yield {
            "id": rec["id"],
            "benchmark": bench,
            "image": image,
            "gt": gt,
            "box": box,
            "skip": skip,
        }


class HQRunner:
    """Runner for :func:`inference_on_dataset`: one GT box per image, several mask types."""

    def __init__(self, prompter: BoxPrompter, mask_types: Sequence[str]) -> None:
        self.prompter = prompter
        self.mask_types = tuple(mask_types)

    def __call__(self, item: dict) -> dict:
        if item.get("skip"):
            return {}
        out = self.prompter(item["image"], item["box"][None], self.mask_types)
        return {mt: res["masks"][0] for mt, res in out.items()}


class HQBenchmarkEvaluator(DatasetEvaluator):
    """Per-image mask IoU and boundary IoU for each mask type; optional RLE of predictions.

    Args:
        keep_masks: also keep each prediction as a COCO RLE (for the report's gallery).
    """

    def __init__(self, *, keep_masks: bool = False) -> None:
        self.keep_masks = keep_masks
        self.reset()

    def reset(self) -> None:
        self.rows: list[dict] = []
        self.skipped: list[dict] = []
        self.masks: dict[str, dict[str, dict]] = {}

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        for item, out in zip(inputs, outputs, strict=True):
            h, w = item["gt"].shape
            if item.get("skip"):
                self.skipped.append(
                    {"id": item["id"], "benchmark": item["benchmark"], "reason": item["skip"]}
                )
                continue
            for mask_type, pred in out.items():
                model = MODEL_NAMES[mask_type]
                self.rows.append(
                    {
                        "id": item["id"],
                        "benchmark": item["benchmark"],
                        "model": model,
                        "iou": mask_iou(item["gt"], pred),
                        "biou": boundary_iou(item["gt"], pred),
                        "height": h,
                        "width": w,
                    }
                )
                if self.keep_masks:
                    self.masks.setdefault(model, {})[item["id"]] = encode_rle(pred)

    def evaluate(self):
        """Returns ``(per_image DataFrame, summary dict)``; see :func:`summarize`."""
        import pandas as pd

        table = pd.DataFrame(self.rows, columns=list(PER_IMAGE_COLUMNS))
        return table, summarize(table)


def summarize(table) -> dict[str, Any]:
    """Per-image table -> ``{benchmark: {model: {"mIoU", "mBIoU", "n"}}}`` (percent).

    When more than one benchmark is present, a ``"mean"`` entry averages the
    benchmark means (the paper's HQ-4 number when all four are there).
    """
    summary: dict[str, Any] = {}
    for (bench, model), grp in table.groupby(["benchmark", "model"], sort=True):
        summary.setdefault(bench, {})[model] = {
            "mIoU": float(grp["iou"].mean() * 100),
            "mBIoU": float(grp["biou"].mean() * 100),
            "n": int(len(grp)),
        }
    benches = [b for b in summary if b != "mean"]
    if len(benches) > 1:
        models = sorted({m for b in benches for m in summary[b]})
        mean: dict[str, Any] = {}
        for model in models:
            vals = [summary[b][model] for b in benches if model in summary[b]]
            mean[model] = {
                "mIoU": float(np.mean([v["mIoU"] for v in vals])),
                "mBIoU": float(np.mean([v["mBIoU"] for v in vals])),
                "n": int(sum(v["n"] for v in vals)),
            }
        summary["mean"] = mean
    return summary


def encode_rle(mask: np.ndarray) -> dict:
    """(H, W) bool -> COCO RLE ``{"size": [H, W], "counts": str}`` (JSON-ready)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def run_hq_split(
    predictor_or_model: Any,
    dataset: Iterable[dict],
    *,
    mask_types: Sequence[str] = ("hq",),
    benchmark: str | None = None,
    bf16: bool = False,
    progress: bool = True,
    keep_masks: bool = False,
    resize_mode: str = "square",
) -> HQBenchmarkEvaluator:
    """Run the inference loop over one HQ split; return the filled evaluator.

    The evaluator holds ``rows`` (per image and mask type), ``skipped`` (images not
    scored, with the reason) and, with ``keep_masks``, ``masks`` (RLE per model and id).
    A model in training mode is switched to eval mode for the run and back afterwards.
    A model is wrapped with ``resize_mode`` (default ``"square"``, the authors' protocol).
    """
    predictor = as_predictor(predictor_or_model, bf16=bf16, resize_mode=resize_mode)
    model = getattr(predictor, "model", None)
    was_training = bool(getattr(model, "training", False))
    if was_training:
        model.eval()
    evaluator = HQBenchmarkEvaluator(keep_masks=keep_masks)
    try:
        runner = HQRunner(BoxPrompter(predictor), mask_types)
        total = len(dataset) if hasattr(dataset, "__len__") else None
        inference_on_dataset(
            runner,
            hq_inputs(dataset, benchmark),
            evaluator,
            total=total,
            progress=progress,
            desc=f"eval {benchmark or 'hq'}",
        )
    finally:
        if was_training:
            model.train()
    return evaluator


def evaluate_hq_split(
    predictor_or_model: Any,
    dataset: Iterable[dict],
    *,
    mask_type: str | Sequence[str] = "hq",
    benchmark: str | None = None,
    bf16: bool = False,
    progress: bool = True,
    resize_mode: str = "square",
):
    """Score one HQ split; the function training validation and ``hqseg eval hq`` share.

    Args:
        predictor_or_model: an ``HQSamPredictor`` or an HQ-SAM model (wrapped on the fly).
        dataset: a ``datasets.Dataset`` or a list of records (``id``, ``image``, ``mask``,
            ``split``).
        mask_type: ``"hq"``, ``"sam"`` or a sequence of them (see :mod:`.predict`).
        benchmark: name for the rows; defaults to each record's ``split``.
        bf16: bfloat16 autocast when a model (not a predictor) is passed.
        resize_mode: how a passed model is wrapped: ``"square"`` (default; the authors'
            protocol, as ``hqseg eval hq`` uses) or ``"longest_side"``.

    Returns:
        ``(per_image, summary)``: the per-image DataFrame (columns
        :data:`PER_IMAGE_COLUMNS`; rows of model ``"hq_sam"`` and/or ``"sam"``) and
        :func:`summarize`'s dict, e.g. ``summary["dis_vd"]["hq_sam"]["mIoU"]``.
    """
    mask_types = (mask_type,) if isinstance(mask_type, str) else tuple(mask_type)
    evaluator = run_hq_split(
        predictor_or_model,
        dataset,
        mask_types=mask_types,
        benchmark=benchmark,
        bf16=bf16,
        progress=progress,
        resize_mode=resize_mode,
    )
    return evaluator.evaluate()
