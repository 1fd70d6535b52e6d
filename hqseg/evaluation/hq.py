"""HQ benchmarks (DIS-VD, COIFT, HRSOD, ThinObject-5K test) with GT-box prompts.

Each image goes through an evaluation protocol (:mod:`.protocol`; default ``"square"``,
the HQ-SAM authors' evaluation step by step, FACTS §4b) for the requested mask types
(``"hq"``: HQ-token only, labelled ``hq_sam``; ``"sam"``: plain SAM's own decoder on the
same encoding, labelled ``sam``). Benchmark scores are means over images.

Units (:mod:`.units`): the per-image table holds ``iou_pct`` / ``biou_pct`` and the
summaries ``mIoU`` / ``mBIoU``, all in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from hqseg.evaluation.evaluator import DatasetEvaluator, inference_on_dataset
from hqseg.evaluation.predict import MODEL_NAMES, as_predictor
from hqseg.evaluation.protocol import DEFAULT_PROTOCOL, PROTOCOLS, HQProtocol, get_protocol
from hqseg.metrics.units import pct_column, to_percent

BENCHMARKS: dict[str, str] = {
    "dis_vd": "DIS-VD",
    "coift": "COIFT",
    "hrsod": "HRSOD",
    "thin": "ThinObject-5K",
}
"""Split name in the build's ``hq_eval`` config -> display name."""

IOU, BIOU = pct_column("iou"), pct_column("biou")
PER_IMAGE_COLUMNS = ("id", "benchmark", "model", IOU, BIOU, "height", "width")
"""Per-image table columns; ``iou_pct`` and ``biou_pct`` are percent."""


def hq_inputs(records: Iterable[dict], benchmark: str | None = None) -> Iterator[dict]:
    """Decode records into evaluation inputs.

    Yields:
        ``{"id", "benchmark", "image": (H, W, 3) uint8 RGB, "mask": (H, W) uint8 grey}``
        (a mask stored with colour channels keeps channel 0, as the authors' loader).
    """
    from hqseg.data.records import decode_image

    for rec in records:
        yield {
            "id": rec["id"],
            "benchmark": benchmark or rec.get("split") or "unknown",
            "image": decode_image(rec["image"]),
            "mask": decode_gt(rec["mask"]),
        }


def decode_gt(value: Any) -> np.ndarray:
    """A record's mask -> ``(H, W)`` uint8: channel 0 of an RGB(A) or palette mask (as the
    authors' skimage loader), the grey levels of any other mode (``decode_mask``)."""
    from hqseg.data.records import _to_pil, decode_mask

    img = _to_pil(value)
    if img.mode in ("P", "PA"):  # a palette is read as its colours, like skimage does
        img = img.convert("RGBA")
    if img.mode in ("RGB", "RGBA"):
        return np.asarray(img)[:, :, 0]
    return decode_mask(img)


class HQRunner:
    """Runner for :func:`inference_on_dataset`: one image through the protocol."""

    def __init__(self, protocol: HQProtocol, mask_types: Sequence[str]) -> None:
        self.protocol = protocol
        self.mask_types = tuple(mask_types)

    def __call__(self, item: dict) -> dict:
        return self.protocol.evaluate(item["image"], item["mask"], self.mask_types)


class HQBenchmarkEvaluator(DatasetEvaluator):
    """Per-image mask IoU and boundary IoU (percent) for each mask type; optional RLEs.

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
            h, w = out["gt"].shape
            if out["skip"]:
                self.skipped.append(
                    {"id": item["id"], "benchmark": item["benchmark"], "reason": out["skip"]}
                )
                continue
            for mask_type, (iou, biou) in out["scores"].items():
                model = MODEL_NAMES[mask_type]
                self.rows.append(
                    {
                        "id": item["id"],
                        "benchmark": item["benchmark"],
                        "model": model,
                        IOU: to_percent(iou),
                        BIOU: to_percent(biou),
                        "height": h,
                        "width": w,
                    }
                )
                if self.keep_masks:
                    self.masks.setdefault(model, {})[item["id"]] = encode_rle(
                        out["pred"][mask_type]
                    )

    def evaluate(self):
        """Returns ``(per_image DataFrame, summary dict)``; see :func:`summarize`."""
        import pandas as pd

        table = pd.DataFrame(self.rows, columns=list(PER_IMAGE_COLUMNS))
        return table, summarize(table)


def summarize(table) -> dict[str, Any]:
    """Per-image table (percent columns) -> ``{benchmark: {model: {"mIoU", "mBIoU", "n"}}}``
    (percent).

    When more than one benchmark is present, a ``"mean"`` entry averages the
    benchmark means (the paper's HQ-4 number when all four are there).
    """
    summary: dict[str, Any] = {}
    for (bench, model), grp in table.groupby(["benchmark", "model"], sort=True):
        summary.setdefault(bench, {})[model] = {
            "mIoU": float(grp[IOU].mean()),
            "mBIoU": float(grp[BIOU].mean()),
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


def resolve_protocol(
    predictor_or_model: Any, protocol: str | None = None, *, bf16: bool = False
) -> HQProtocol:
    """The protocol object for a run.

    ``protocol``: a name of :data:`~.protocol.PROTOCOLS`; None means
    :data:`~.protocol.DEFAULT_PROTOCOL` (``"square"``, the authors' evaluation) whatever
    the predictor: a protocol does its own resizing through the predictor's model
    interface, and a predictor's ``resize_mode`` (by default its line's interactive
    geometry) only governs ``set_image`` / ``predict``. A model is wrapped in an
    ``HQSamPredictor`` (``bf16``: bfloat16 autocast).

    Raises:
        ValueError: unknown protocol.
    """
    name = DEFAULT_PROTOCOL if protocol is None else protocol
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return get_protocol(name, as_predictor(predictor_or_model, bf16=bf16, resize_mode=name))


def run_hq_split(
    predictor_or_model: Any,
    dataset: Iterable[dict],
    *,
    mask_types: Sequence[str] = ("hq",),
    benchmark: str | None = None,
    bf16: bool = False,
    progress: bool = True,
    keep_masks: bool = False,
    protocol: str | None = None,
) -> HQBenchmarkEvaluator:
    """Run the inference loop over one HQ split; return the filled evaluator.

    The evaluator holds ``rows`` (per image and mask type), ``skipped`` (images not
    scored, with the reason) and, with ``keep_masks``, ``masks`` (RLE per model and id).
    The model runs in eval mode; each module's train/eval mode is restored afterwards.
    ``protocol``: see :func:`resolve_protocol` (default: the authors' ``"square"``).
    """
    target = getattr(predictor_or_model, "model", predictor_or_model)
    # Each module's train/eval mode, restored afterwards (wrapping a model sets eval mode).
    modes = [(m, m.training) for m in target.modules()] if hasattr(target, "modules") else []
    proto = resolve_protocol(predictor_or_model, protocol, bf16=bf16)
    evaluator = HQBenchmarkEvaluator(keep_masks=keep_masks)
    try:
        if hasattr(target, "eval"):
            target.eval()
        runner = HQRunner(proto, mask_types)
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
        for module, training in modes:
            module.training = training
    return evaluator


def evaluate_hq_split(
    predictor_or_model: Any,
    dataset: Iterable[dict],
    *,
    mask_type: str | Sequence[str] = "hq",
    benchmark: str | None = None,
    bf16: bool = False,
    progress: bool = True,
    protocol: str | None = None,
):
    """Score one HQ split; the function training validation and ``hqseg eval hq`` share.

    Args:
        predictor_or_model: an ``HQSamPredictor`` (or any object with the model interface
            of :mod:`.protocol`) or an HQ-SAM model (wrapped on the fly).
        dataset: a ``datasets.Dataset`` or a list of records (``id``, ``image``, ``mask``,
            ``split``).
        mask_type: ``"hq"``, ``"sam"`` or a sequence of them.
        benchmark: name for the rows; defaults to each record's ``split``.
        bf16: bfloat16 autocast when a model (not a predictor) is passed.
        protocol: ``"square"`` (the authors' evaluation; None means it too) or
            ``"longest_side"`` (SAM's geometry), whatever the predictor's resize_mode.

    Returns:
        ``(per_image, summary)``: the per-image DataFrame (columns
        :data:`PER_IMAGE_COLUMNS`, percent; rows of model ``"hq_sam"`` and/or ``"sam"``)
        and :func:`summarize`'s dict, e.g. ``summary["dis_vd"]["hq_sam"]["mIoU"]``.
    """
    mask_types = (mask_type,) if isinstance(mask_type, str) else tuple(mask_type)
    evaluator = run_hq_split(
        predictor_or_model,
        dataset,
        mask_types=mask_types,
        benchmark=benchmark,
        bf16=bf16,
        progress=progress,
        protocol=protocol,
    )
    return evaluator.evaluate()
