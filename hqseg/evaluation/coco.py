"""COCO with box prompts: detector boxes (or GT boxes as an oracle) -> SAM / HQ-SAM masks.

Each image is encoded once and all its boxes are decoded together, for both
models: plain SAM (``"sam"``: SAM's own decoder, no HQ token, mask token 0, multimask
off) and HQ-SAM (``"sum"``: SAM + HQ logits, multimask off; FACTS §2). Masks become COCO results
(RLE, score = detection score) scored with mask AP and boundary AP.
Under torchrun, images are sharded by rank and results gathered on rank 0.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hqseg.evaluation.amp_check import float32_features, numerics_label, report_amp
from hqseg.evaluation.coco_encode import COCOInputs, PredictorImages, hold_image
from hqseg.evaluation.coco_io import (
    ImagePrompts,
    check_images,
    load_detections,
    load_gt,
    oracle_prompts,
)
from hqseg.evaluation.distributed import gather_to_rank0, rank_and_world
from hqseg.evaluation.encodings import EncodingCache
from hqseg.evaluation.evaluator import DatasetEvaluator, inference_context, inference_on_dataset
from hqseg.evaluation.heads import Head
from hqseg.evaluation.hq import batches, encode_rle
from hqseg.evaluation.predict import BoxPrompter
from hqseg.evaluation.shared_encoder import Checkpoints
from hqseg.metrics.coco_eval import STAT_NAMES
from hqseg.metrics.headline import coco_headlines
from hqseg.metrics.units import stats_to_percent, with_unit
from hqseg.provenance import write_provenance
from hqseg.utils.atomic import write_json
from hqseg.utils.outdir import check_replaceable, output_dir

log = logging.getLogger(__name__)

COCO_MASK_TYPES: tuple[str, ...] = ("sam", "sum")


class COCORunner:
    """Runner: a batch of images encoded in ONE encoder call (by the first checkpoint,
    through :class:`~.coco_encode.PredictorImages`: cache and ``amp`` there), then each
    image's boxes decoded by each checkpoint for its heads' mask types (one
    ``predict_boxes_multi`` call each).

    Args:
        checkpoints: the run's predictors (the first one encodes).
        heads: the run's heads (:mod:`.heads`).
        encodings: an encoding cache, or None.
        amp: autocast dtype for the encoder alone, or None.
        say: where the first batch's mixed-precision line goes (:mod:`.amp_check`).
    """

    def __init__(
        self,
        checkpoints: Checkpoints,
        heads: Sequence[Head],
        encodings: EncodingCache | None = None,
        amp: torch.dtype | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.prompters = [BoxPrompter(p) for p in checkpoints.predictors]
        self.heads = tuple(heads)
        self.images = PredictorImages(self.prompters[0].predictor, encodings, amp)
        self.amp_label = numerics_label(self.prompters[0].predictor, amp)
        self.say = say

    @property
    def encoder(self):
        """The run's :class:`~.image_encoder.ImageEncoder` (its counters)."""
        return self.images.encoder

    def __call__(self, batch: list[dict]) -> list[dict]:
        inputs, sizes = self.images.inputs([item["image"] for item in batch])
        features = self.images.encoder(inputs, [item.get("sha256") for item in batch])
        if self.amp_label is not None:
            self._check_amp(inputs, sizes, features, batch[0])
        out = []
        for item, state in zip(batch, self.images.states(features, sizes), strict=True):
            masks: dict[Head, np.ndarray] = {}
            for k in sorted({h.decoder for h in self.heads}):
                mine = [h for h in self.heads if h.decoder == k]
                hold_image(self.prompters[k].predictor, state)
                types = tuple(dict.fromkeys(h.mask_type for h in mine))
                decoded = self.prompters[k].decode(item["prompts"].boxes, types)
                masks.update({h: decoded[h.mask_type]["masks"] for h in mine})
            out.append(masks)
        return out

    def _check_amp(self, inputs, sizes, features, first: dict) -> None:
        """Measure and say the encoder's deviation from float32 (first batch only)."""
        prompter, mask_type = self.prompters[0], self.heads[0].mask_type

        def decode_first(batch_features):
            hold_image(prompter.predictor, self.images.states(batch_features, sizes)[0])
            return prompter.decode(first["prompts"].boxes, (mask_type,))[mask_type]["masks"]

        reference = float32_features(prompter.predictor, inputs)
        report_amp(self.amp_label, reference, features, decode_first, self.say)
        self.amp_label = None


class COCOResultsEvaluator(DatasetEvaluator):
    """COCO results entries (RLE masks) per head; ``evaluate()`` gathers every rank's
    entries on rank 0, merges them (image id, then score descending) and scores them.

    Args:
        coco: the ground truth the results are scored against.
        heads: the run's heads (:mod:`.heads`).
        setup: the ``"setup"`` entry of each unit's metrics.
    """

    def __init__(self, coco, heads: Sequence[Head], setup: dict[str, Any]) -> None:
        self.coco, self.heads, self.setup = coco, tuple(heads), setup
        self.reset()

    def reset(self) -> None:
        self.results: dict[Head, list[dict]] = {h: [] for h in self.heads}

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        for item, out in zip(inputs, outputs, strict=True):
            p: ImagePrompts = item["prompts"]
            for head, masks in out.items():
                for mask, score, cat in zip(masks, p.scores, p.category_ids, strict=True):
                    self.results[head].append(
                        {
                            "image_id": int(p.image_id),
                            "category_id": int(cat),
                            "segmentation": encode_rle(mask),
                            "score": float(score),
                        }
                    )

    def evaluate(self) -> dict[str, tuple[dict[str, list[dict]], dict[str, Any]]] | None:
        """``{unit: ({model: results}, metrics)}`` on rank 0, None elsewhere."""
        gathered = gather_to_rank0(self.results)
        if gathered is None:
            return None
        out: dict[str, tuple[dict[str, list[dict]], dict[str, Any]]] = {}
        for head in self.heads:
            entries = [e for part in gathered for e in part[head]]
            entries.sort(key=lambda e: (e["image_id"], -e["score"]))
            out.setdefault(head.unit, ({}, {}))[0][head.model] = entries
        for merged, metrics in out.values():
            for model, entries in merged.items():
                metrics[model] = score_results(self.coco, entries)
            metrics["setup"] = dict(self.setup)
        return {u: (merged, with_unit(metrics)) for u, (merged, metrics) in out.items()}


def score_results(coco, results: list[dict]) -> dict[str, dict[str, float]]:
    """Mask AP and boundary AP of a results list, in percent (-1 where undefined).

    Returns:
        ``{"segm": {12 COCO stats}, "boundary": {12 stats}}``.
    """
    if not results:
        log.warning("no results to score: every AP is 0")
        zeros = dict.fromkeys(STAT_NAMES, 0.0)
        return {"segm": dict(zeros), "boundary": dict(zeros)}
    from hqseg.metrics.coco_eval import evaluate_coco

    stats = evaluate_coco(coco, results, iou_types=("segm", "boundary"))
    return {iou_type: stats_to_percent(values) for iou_type, values in stats.items()}


def subset_gt(coco, image_ids) -> dict:
    """The GT restricted to ``image_ids`` (as a COCO dict), so ``--limit`` runs score only
    the images that were run instead of counting the others as misses."""
    keep = set(image_ids)
    data = coco.dataset
    return {
        **{k: v for k, v in data.items() if k not in ("images", "annotations")},
        "images": [im for im in data["images"] if im["id"] in keep],
        "annotations": [a for a in data["annotations"] if a["image_id"] in keep],
    }


def evaluate_coco_models(
    predictor: Any,
    gt_json: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    *,
    detections: str | Path | None = None,
    top_k: int = 100,
    limit: int | None = None,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
    checkpoints: Checkpoints | None = None,
    batch_size: int = 1,
    workers: int = 0,
    encodings: EncodingCache | None = None,
    amp: torch.dtype | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """Run SAM and HQ-SAM on COCO box prompts and write results and metrics.

    Args:
        predictor: an ``HQSamPredictor``.
        gt_json: COCO instances JSON (e.g. ``instances_val2017.json``).
        images_dir: folder holding each image's ``file_name``.
        detections: COCO results-format detections; None = GT boxes (oracle prompts).
        top_k: detections kept per image (highest scores).
        limit: only the first ``limit`` images (sorted ids) that have prompts; the
            scores then cover those images only.
        provenance: written as ``provenance.json`` in the unit
            (:func:`hqseg.provenance.collect_provenance`); with several checkpoints
            ``{unit: provenance}``; None = not written.
        checkpoints: several checkpoints sharing one encoder (unused ``predictor``):
            each image encoded once; checkpoint k's HQ-SAM files go to
            ``out_dir/<unit k>``, the SAM baseline (first checkpoint) to ``out_dir/sam``,
            and the return value is ``{unit: metrics}``.
        batch_size: images per encoder call; workers: DataLoader processes that read
            the images (0 = this process). Results equal one at a time up to float32
            rounding of the batched encoder.
        encodings: an encoding cache every encoder call goes through (key: encoder
            digest, geometry and input size, the image file's sha256, numerics).
        amp: autocast dtype for the encoder alone; its deviation from float32 on the
            first batch is said through ``say`` (:mod:`.amp_check`).

    Writes (rank 0, as one unit by :func:`hqseg.utils.outdir.output_dir`):
    ``results_sam.json``, ``results_hq_sam.json`` (COCO results with
    RLE masks) and ``metrics.json`` ``{"unit": "percent", model: {"segm": {...},
    "boundary": {...}}, "setup": {...}}`` (AP/AR values in percent, -1 = undefined),
    and ``headline_<model>.json`` ``{"AP", "AP_B"}`` (:mod:`hqseg.metrics.headline`).

    Returns:
        The metrics on rank 0, None on other ranks.
    """
    check_replaceable(out_dir, "eval coco")  # before the work, not after it
    coco = load_gt(gt_json)
    if detections is None:
        prompts = oracle_prompts(coco)
    else:
        prompts = load_detections(detections, coco, top_k=top_k)
    image_ids = sorted(prompts)[:limit]
    check_images(coco, images_dir, image_ids)
    rank, world = rank_and_world()
    shard = image_ids[rank::world]
    checkpoints = checkpoints or Checkpoints([predictor], [""])
    heads = checkpoints.heads(COCO_MASK_TYPES)
    setup = {"prompts": "gt_boxes" if detections is None else "detections",
             "images": len(image_ids), "top_k": top_k, "world_size": world}  # fmt: skip
    scored_gt = coco if limit is None else subset_gt(coco, image_ids)
    with contextlib.ExitStack() as stack:
        for p in checkpoints.predictors:
            stack.enter_context(inference_context(p))
        data = COCOInputs(coco, images_dir, prompts, shard, hash_files=encodings is not None)
        units = inference_on_dataset(
            COCORunner(checkpoints, heads, encodings, amp, say),
            batches(data, batch_size, workers),
            COCOResultsEvaluator(scored_gt, heads, setup),
            total=len(shard),
            progress=progress and rank == 0,
            desc="eval coco",
        )
    if units is None:
        return None
    if list(units) == [""]:
        return _write_unit(Path(out_dir), *units[""], provenance)
    with output_dir(out_dir, "eval coco") as tmp:
        return {u: _write_unit(tmp / u, merged, metrics, (provenance or {}).get(u))
                for u, (merged, metrics) in units.items()}  # fmt: skip


def _write_unit(out_dir: Path, merged: dict, metrics: dict, provenance) -> dict[str, Any]:
    """One unit's files (see :func:`evaluate_coco_models`); returns ``metrics``."""
    with output_dir(out_dir, "eval coco", manifest=True) as tmp:
        for model, entries in merged.items():
            write_json(tmp / f"results_{model}.json", entries, indent=None)
        write_json(tmp / "metrics.json", metrics)
        for name, headline in coco_headlines(metrics).items():
            write_json(tmp / name, headline)
        if provenance is not None:
            write_provenance(tmp, provenance)
    return metrics
