"""Synthetic COCO-format instance data for the metric tests and the benchmark.

Each image gets a few random polygons of varied size (some cut by the image border,
some smaller than the boundary width d), stored as polygons, compressed RLE or
uncompressed RLE (crowd regions). Detections are shifted, grown, shrunk or hollowed copies
of the ground truth, some with the wrong category, plus false positives and empty masks.
"""

from __future__ import annotations

import cv2
import numpy as np
import pycocotools.mask as mask_utils

# (height, width): 480x640 is COCO-like; 0.02*diag is 12.5 at 375x500 (d=12, half to even)
# and 13.5 at 189x648 (d=14); 100x37 is small and tall.
DEFAULT_SIZES = ((480, 640), (375, 500), (189, 648), (100, 37))


def _encode(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.astype(np.uint8).flatten(order="F")
    edges = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": list(mask.shape), "counts": counts}


def _polygon(rng: np.random.Generator, h: int, w: int) -> list[float]:
    cx, cy = rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h
    r = float(np.exp(rng.uniform(np.log(1.5), np.log(max(2.0, min(h, w) / 2.2)))))
    k = int(rng.integers(5, 13))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    rad = r * rng.uniform(0.5, 1.0, k)
    xs = np.clip(cx + rad * np.cos(ang), 0, w)
    ys = np.clip(cy + rad * np.sin(ang), 0, h)
    return np.round(np.stack([xs, ys], 1).ravel(), 2).tolist()


def _perturb(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    dy, dx = (int(v) for v in rng.integers(-4, 5, 2))
    out = np.roll(out, (dy, dx), (0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    k = np.ones((3, 3), np.uint8)
    op = rng.integers(0, 4)
    if op == 1:
        out = cv2.dilate(out, k, iterations=int(rng.integers(1, 4)))
    elif op == 2:
        out = cv2.erode(out, k, iterations=int(rng.integers(1, 3)))
    elif op == 3 and rng.random() < 0.5:
        # hollow: only a ring is left, so boundary IoU exceeds mask IoU (min() matters)
        out = out - cv2.erode(out, k, iterations=int(rng.integers(8, 20)))
    return out


def make_coco(
    n_images: int = 12,
    *,
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES,
    n_categories: int = 3,
    objects_per_image: tuple[int, int] = (1, 7),
    dets_per_object: float = 1.6,
    false_positives: float = 1.0,
    crowd_fraction: float = 0.1,
    rle_fraction: float = 0.3,
    seed: int = 0,
) -> tuple[dict, list[dict]]:
    """Return ``(gt, results)``: a COCO ground-truth dict and a segm results list.

    GT ``area`` is the mask area; GT segmentations mix polygons and RLEs; crowd regions
    are uncompressed RLEs. Results are compressed RLEs (JSON-ready strings) with scores.
    """
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    cats = [
        {"id": c, "name": f"cat{c}", "supercategory": "thing"} for c in range(1, n_categories + 1)
    ]
    for i in range(n_images):
        h, w = sizes[i % len(sizes)]
        img_id = i + 1
        images.append({"id": img_id, "height": h, "width": w, "file_name": f"{img_id:06d}.jpg"})
        for _ in range(int(rng.integers(*objects_per_image))):
            cat = int(rng.integers(1, n_categories + 1))
            poly = _polygon(rng, h, w)
            mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], h, w)))
            if mask.sum() == 0:
                continue
            crowd = bool(rng.random() < crowd_fraction)
            if crowd:
                seg = uncompressed_rle(mask)
            elif rng.random() < rle_fraction:
                seg = _encode(mask)
            else:
                seg = [poly]
            bbox = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask))).tolist()
            ann_id = len(anns) + 1
            area = float(mask.sum())
            anns.append(
                {"id": ann_id, "image_id": img_id, "category_id": cat, "segmentation": seg,
                 "area": area, "bbox": bbox, "iscrowd": int(crowd)}
            )  # fmt: skip
            for _ in range(int(rng.poisson(dets_per_object))):
                det_cat = cat if rng.random() < 0.85 else int(rng.integers(1, n_categories + 1))
                results.append(
                    {"image_id": img_id, "category_id": det_cat,
                     "segmentation": _encode(_perturb(rng, mask)),
                     "score": round(float(rng.uniform(0.05, 1.0)), 4)}
                )  # fmt: skip
        for _ in range(int(rng.poisson(false_positives))):
            poly = _polygon(rng, h, w)
            mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], h, w)))
            if rng.random() < 0.15:
                mask[:] = 0  # an empty predicted mask is valid input
            results.append(
                {"image_id": img_id, "category_id": int(rng.integers(1, n_categories + 1)),
                 "segmentation": _encode(mask), "score": round(float(rng.uniform(0.0, 0.6)), 4)}
            )  # fmt: skip
    gt = {"images": images, "annotations": anns, "categories": cats}
    return gt, results
