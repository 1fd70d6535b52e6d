"""A small generated COCO-format set with a detections file, for ``hqseg eval coco``.

Layout written (atomically) under ``out``::

    images/0000000000NN.jpg         8 images, 160..320 px a side
    annotations/instances_sample.json  COCO instances: 3 categories, polygon and
                                       RLE segmentations, one crowd region
    detections.json                 COCO results: jittered GT boxes with scores,
                                    plus a few low-score false positives

Everything is drawn from ``numpy.random.default_rng(seed)``, so a seed gives the
same bytes on every machine.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hqseg.utils.outdir import output_dir

CATEGORIES = [
    {"id": 1, "name": "disc", "supercategory": "shape"},
    {"id": 2, "name": "block", "supercategory": "shape"},
    {"id": 3, "name": "wedge", "supercategory": "shape"},
]
N_IMAGES = 8


def _shape_mask(rng, h: int, w: int, cat: int) -> tuple[np.ndarray, list[float] | None]:
    """Draw one object: (mask (H, W) uint8, polygon [x0, y0, x1, y1, ...] or None)."""
    mask = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    s = rng.uniform(0.12, 0.25) * min(h, w)
    if cat == 1:  # disc: ellipse, stored as RLE
        axes = (int(s), int(s * rng.uniform(0.6, 1.0)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        return mask, None
    n = 4 if cat == 2 else 3
    angles = (
        np.sort(rng.uniform(0, 2 * np.pi, n))
        if cat == 3
        else (np.arange(4) * np.pi / 2 + rng.uniform(0, np.pi / 2))
    )
    pts = np.stack([cx + s * np.cos(angles), cy + s * np.sin(angles)], 1)
    pts = np.clip(pts, 0, [w - 1, h - 1])
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask, [float(v) for v in pts.reshape(-1)]


def _rle(mask: np.ndarray, *, compressed: bool) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask))
    if compressed:
        return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
    flat = mask.flatten(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _image(rng, h: int, w: int, objects: list[tuple[np.ndarray, int]]) -> bytes:
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(60, 160, 3)
    img = base + 40 * np.stack([xx / w, yy / h, (xx + yy) / (h + w)], -1)
    img += rng.normal(0, 6, img.shape)
    for mask, cat in objects:
        colour = np.array([[220, 60, 60], [60, 200, 80], [70, 90, 230]][cat - 1], float)
        img[mask > 0] = colour + rng.normal(0, 8, 3)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _detections(rng, anns: list[dict], images: list[dict]) -> list[dict]:
    dets = []
    for ann in anns:
        if ann["iscrowd"]:
            continue
        x, y, w, h = ann["bbox"]
        jitter = rng.normal(0, 0.05, 4) * [w, h, w, h]
        box = [
            max(0.0, x + jitter[0]),
            max(0.0, y + jitter[1]),
            max(2.0, w + jitter[2]),
            max(2.0, h + jitter[3]),
        ]
        dets.append(
            {
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "bbox": [round(v, 2) for v in box],
                "score": round(float(rng.uniform(0.5, 0.99)), 4),
            }
        )
    for info in images[::3]:  # a few false positives
        w, h = info["width"], info["height"]
        bw, bh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.1, 0.3) * h
        dets.append(
            {
                "image_id": info["id"],
                "category_id": int(rng.integers(1, 4)),
                "bbox": [
                    round(float(rng.uniform(0, w - bw)), 2),
                    round(float(rng.uniform(0, h - bh)), 2),
                    round(float(bw), 2),
                    round(float(bh), 2),
                ],
                "score": round(float(rng.uniform(0.05, 0.4)), 4),
            }
        )
    return dets


def write_coco_sample(out: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write the generated COCO set under ``out`` (replacing it atomically).

    Returns:
        ``{"images": dir, "annotations": instances json, "detections": results json}``.
    """
    from pycocotools import mask as mask_utils

    out = Path(out)
    rng = np.random.default_rng(seed)
    images, anns = [], []
    with output_dir(out, "eval coco-sample") as tmp:
        (tmp / "images").mkdir()
        (tmp / "annotations").mkdir()
        for i in range(1, N_IMAGES + 1):
            h, w = (int(v) for v in rng.integers(160, 321, 2))
            objects = []
            for _ in range(int(rng.integers(2, 5))):
                cat = int(rng.integers(1, 4))
                mask, poly = _shape_mask(rng, h, w, cat)
                if mask.sum() < 20:
                    continue
                objects.append((mask, cat))
                crowd = int(i == 2 and len(objects) == 1)  # one crowd region in the set
                if poly is not None and not crowd:
                    seg = [poly]
                    rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
                else:
                    seg = _rle(mask, compressed=not crowd)
                    rle = mask_utils.encode(np.asfortranarray(mask))
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": i,
                        "category_id": cat,
                        "segmentation": seg,
                        "area": float(mask_utils.area(rle)),
                        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                        "iscrowd": crowd,
                    }
                )
            name = f"{i:012d}.jpg"
            (tmp / "images" / name).write_bytes(_image(rng, h, w, objects))
            images.append({"id": i, "file_name": name, "height": h, "width": w})
        gt = {
            "info": {"description": f"hqseg generated COCO sample (seed {seed})"},
            "images": images,
            "annotations": anns,
            "categories": CATEGORIES,
        }
        (tmp / "annotations" / "instances_sample.json").write_text(json.dumps(gt))
        (tmp / "detections.json").write_text(json.dumps(_detections(rng, anns, images)))
    return {
        "images": out / "images",
        "annotations": out / "annotations" / "instances_sample.json",
        "detections": out / "detections.json",
    }
