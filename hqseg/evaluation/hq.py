"""HQ benchmarks (DIS-VD, COIFT, HRSOD, ThinObject-5K test) with GT-box prompts.

Each image goes through an evaluation protocol (:mod:`.protocol`; default ``"square"``,
the HQ-SAM authors' evaluation step by step, FACTS §4b) for the requested mask types
(``"hq"``: HQ-token only, labelled ``hq_sam``; ``"sam"``: plain SAM's own decoder on the
same encoding, labelled ``sam``). Benchmark scores are means over images.

Units (:mod:`.units`): the per-image table holds ``iou_pct`` / ``biou_pct`` and the
summaries ``mIoU`` / ``mBIoU``, all in percent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from hqseg.evaluation.amp_check import float32_features, numerics_label, report_amp
from hqseg.evaluation.distributed import gather_to_rank0, rank_and_world
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.evaluator import DatasetEvaluator, inference_context, inference_on_dataset
from hqseg.evaluation.heads import Head, single_heads
from hqseg.evaluation.predict import as_predictor
from hqseg.evaluation.protocol import (
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    HQProtocol,
    PreparedImage,
    get_protocol,
    score_masks,
    split_features,
)
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


class HQInputs:
    """Map-style dataset of one split: ``records[indices[i]]`` decoded and prepared by
    ``protocol`` (image decoding and geometry run here, so in DataLoader workers).

    Items: ``{"index", "id", "benchmark", "sha256", "prepared": PreparedImage}``,
    ``index`` being the record's position in the split (the merge order across ranks),
    ``sha256`` the image bytes' digest when the record has one (an encoding-cache key).
    """

    def __init__(self, records, protocol: HQProtocol, benchmark: str | None, indices) -> None:
        self.records, self.protocol = records, protocol.detached()
        self.benchmark, self.indices = benchmark, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        from hqseg.data.records import decode_image

        rec = self.records[self.indices[i]]
        prepared = self.protocol.prepare(decode_image(rec["image"]), decode_gt(rec["mask"]))
        bench = self.benchmark or rec.get("split") or "unknown"
        return {"index": self.indices[i], "id": rec["id"], "benchmark": bench,
                "sha256": rec.get("sha256"), "prepared": prepared}  # fmt: skip


def batches(dataset, batch_size: int = 1, workers: int = 0):
    """``dataset``'s items in lists of ``batch_size`` (a DataLoader with ``workers``
    processes started by :func:`hqseg.utils.procs.pool_context` when ``workers`` > 0)."""
    from torch.utils.data import DataLoader

    from hqseg.utils.procs import pool_context

    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=list,
                      multiprocessing_context=pool_context() if workers else None)  # fmt: skip


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
    """Runner for :func:`inference_on_dataset`: a batch of prepared images through the
    protocol: ONE encoder call for the batch, then each image decoded for every head.
    When the encoder does not run in float32, the first batch's deviation from float32
    is said through ``say`` (:mod:`.amp_check`)."""

    def __init__(
        self, protocol: HQProtocol, heads: Sequence[Head], say: Callable | None = None
    ) -> None:
        self.protocol = protocol
        self.heads = tuple(heads)
        self.say = say
        encoder = getattr(protocol, "encoder", None)
        self.amp_label = numerics_label(protocol.model, encoder.amp if encoder else None)

    def __call__(self, batch: list[dict]) -> list[dict]:
        todo = [item for item in batch if not item["prepared"].skip]
        ready = [item["prepared"] for item in todo]
        features = []
        if ready:
            shas = [item.get("sha256") for item in todo]
            images = torch.cat([p.image for p in ready])
            encoded = self.protocol.encode(images, shas)
            if self.amp_label is not None:
                self._check_amp(images, encoded, ready[0])
            features = split_features(encoded, len(ready))
        out, it = [], iter(features)
        for item in batch:
            p = item["prepared"]
            if p.skip:
                out.append({"skip": p.skip, "gt": p.gt, "pred": {}, "scores": {}})
                continue
            pred = self.protocol.decode(next(it), p, self.heads)
            scores = {h: score_masks(p.gt, m) for h, m in pred.items()}
            out.append({"skip": None, "gt": p.gt, "pred": pred, "scores": scores})
        return out

    def _check_amp(self, images: torch.Tensor, encoded: Any, first: PreparedImage) -> None:
        n, head = len(images), self.heads[:1]

        def decode_first(features):
            return self.protocol.decode(split_features(features, n)[0], first, head)[head[0]]

        reference = float32_features(self.protocol.model, images)
        report_amp(self.amp_label, reference, encoded, decode_first, self.say)
        self.amp_label = None


class HQSplitResult:
    """One split's merged rows (image order, then head order), skipped images and masks.

    Rows carry their ``unit`` and ``index`` (image position) beside
    :data:`PER_IMAGE_COLUMNS`, and ``rle`` when masks were kept.
    """

    def __init__(self, rows: list[dict], skipped: list[dict]) -> None:
        self.rows, self.skipped = rows, skipped

    def units(self) -> list[str]:
        return list(dict.fromkeys(r["unit"] for r in self.rows))

    def table(self, unit: str = ""):
        """The per-image DataFrame of ``unit`` (columns :data:`PER_IMAGE_COLUMNS`)."""
        import pandas as pd

        rows = [r for r in self.rows if r["unit"] == unit]
        return pd.DataFrame(rows, columns=list(PER_IMAGE_COLUMNS))

    def masks(self, unit: str = "") -> dict[str, dict[str, dict]]:
        """``{model: {id: RLE}}`` of ``unit`` (empty unless masks were kept)."""
        out: dict[str, dict[str, dict]] = {}
        for r in self.rows:
            if r["unit"] == unit and "rle" in r:
                out.setdefault(r["model"], {})[r["id"]] = r["rle"]
        return out


class HQBenchmarkEvaluator(DatasetEvaluator):
    """Per-image mask IoU and boundary IoU (percent) for each head; optional RLEs.

    Args:
        keep_masks: also keep each prediction as a COCO RLE (for the report's gallery).
        distributed: ``evaluate()`` gathers every rank's rows on rank 0 (torchrun).
    """

    def __init__(self, *, keep_masks: bool = False, distributed: bool = False) -> None:
        self.keep_masks, self.distributed = keep_masks, distributed
        self.reset()

    def reset(self) -> None:
        self.rows: list[dict] = []
        self.skipped: list[dict] = []

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        for item, out in zip(inputs, outputs, strict=True):
            h, w = out["gt"].shape
            where = {"index": item["index"], "id": item["id"], "benchmark": item["benchmark"]}
            if out["skip"]:
                self.skipped.append({**where, "reason": out["skip"]})
                continue
            for head, (iou, biou) in out["scores"].items():
                row = {**where, "unit": head.unit, "model": head.model, IOU: to_percent(iou),
                       BIOU: to_percent(biou), "height": h, "width": w}  # fmt: skip
                if self.keep_masks:
                    row["rle"] = encode_rle(out["pred"][head])
                self.rows.append(row)

    def evaluate(self) -> HQSplitResult | None:
        """Gather (when distributed), merge in image order; None on ranks other than 0."""
        parts = gather_to_rank0((self.rows, self.skipped)) if self.distributed else None
        if parts is None and self.distributed:
            return None
        parts = parts or [(self.rows, self.skipped)]
        rows = [r for rows, _ in parts for r in rows]
        skipped = [s for _, skipped in parts for s in skipped]
        rows.sort(key=lambda r: r["index"])  # stable: head order stays within an image
        skipped.sort(key=lambda r: r["index"])
        return HQSplitResult(rows, skipped)


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
    predictor_or_model: Any,
    protocol: str | None = None,
    *,
    bf16: bool = False,
    encodings: EncodingCache | None = None,
) -> HQProtocol:
    """The protocol object for a run.

    ``protocol``: a name of :data:`~.protocol.PROTOCOLS`; None means
    :data:`~.protocol.DEFAULT_PROTOCOL` (``"square"``, the authors' evaluation) whatever
    the predictor: a protocol does its own resizing through the predictor's model
    interface, and a predictor's ``resize_mode`` (by default its line's interactive
    geometry) only governs ``set_image`` / ``predict``. A model is wrapped in an
    ``HQSamPredictor`` (``bf16``: bfloat16 autocast).
    ``encodings``: the encoding cache every encoder call goes through
    (:meth:`.HQProtocol.encode`).

    Raises:
        ValueError: unknown protocol.
    """
    name = DEFAULT_PROTOCOL if protocol is None else protocol
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    model = as_predictor(predictor_or_model, bf16=bf16, resize_mode=name)
    return get_protocol(name, model, encodings)


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
    heads: Sequence[Head] | None = None,
    batch_size: int = 1,
    workers: int = 0,
    distributed: bool = False,
    encodings: EncodingCache | None = None,
    say: Callable[[str], None] | None = None,
) -> HQSplitResult | None:
    """Run the inference loop over one HQ split; return its merged result.

    ``predictor_or_model`` is a predictor, a model or a bound :class:`HQProtocol` (whose
    decoders may be several checkpoints; ``protocol`` and ``bf16`` are then unused).
    ``heads`` default to ``mask_types`` of the one decoder (:func:`.heads.single_heads`).
    The models run in eval mode (:func:`inference_context`); each module's mode is
    restored afterwards. ``batch_size`` images share one encoder call; ``workers``
    DataLoader processes decode and resize them. ``distributed``: this rank takes every
    world-th image and rank 0 gets everything (None elsewhere). ``say``: where the
    first batch's mixed-precision line goes (:class:`HQRunner`).
    """
    decoders = getattr(predictor_or_model, "decoders", [predictor_or_model])
    with contextlib.ExitStack() as stack:
        for model in decoders:
            stack.enter_context(inference_context(model))
        proto = predictor_or_model
        if not isinstance(proto, HQProtocol):
            proto = resolve_protocol(predictor_or_model, protocol, bf16=bf16, encodings=encodings)
        rank, world = rank_and_world() if distributed else (0, 1)
        records = dataset if hasattr(dataset, "__getitem__") else list(dataset)
        data = HQInputs(records, proto, benchmark, range(rank, len(records), world))
        return inference_on_dataset(
            HQRunner(proto, heads or single_heads(mask_types), say),
            batches(data, batch_size, workers),
            HQBenchmarkEvaluator(keep_masks=keep_masks, distributed=distributed),
            total=len(data),
            progress=progress and rank == 0,
            desc=f"eval {benchmark or 'hq'}",
        )


def evaluate_hq_split(
    predictor_or_model: Any,
    dataset: Iterable[dict],
    *,
    mask_type: str | Sequence[str] = "hq",
    benchmark: str | None = None,
    bf16: bool = False,
    progress: bool = True,
    protocol: str | None = None,
    encodings: EncodingCache | None = None,
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
        encodings: an encoding cache (:mod:`.encodings`) the encoder calls go through;
            the results are bit-identical with and without it.

    Returns:
        ``(per_image, summary)``: the per-image DataFrame (columns
        :data:`PER_IMAGE_COLUMNS`, percent; rows of model ``"hq_sam"`` and/or ``"sam"``)
        and :func:`summarize`'s dict, e.g. ``summary["dis_vd"]["hq_sam"]["mIoU"]``.
    """
    mask_types = (mask_type,) if isinstance(mask_type, str) else tuple(mask_type)
    result = run_hq_split(
        predictor_or_model,
        dataset,
        mask_types=mask_types,
        benchmark=benchmark,
        bf16=bf16,
        progress=progress,
        protocol=protocol,
        encodings=encodings,
    )
    table = result.table()
    return table, summarize(table)
