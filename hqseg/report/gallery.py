"""Overlay gallery: GT vs model a vs model b for b's biggest wins and losses, with close-ups.

a/b are SAM/HQ-SAM of one run, or HQ-SAM of the base run / of this run. Images and GT
masks come from the build folder (``--data``); predictions from the ``hq/masks.json``
RLEs that ``hqseg eval hq`` writes.

File names are stable from run to run (a README can embed one): they derive from
the case's kind, benchmark and image id only (:func:`case_file_name`), never from
its rank or from chance.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hqseg.evaluation.boxes import binarize_gt
from hqseg.metrics import boundary

log = logging.getLogger(__name__)

OVERLAY = {"gt": (46, 204, 113), "sam": (243, 156, 18), "hq_sam": (209, 73, 91)}


def case_file_name(kind: str, benchmark: str, image_id: str, prefix: str = "") -> str:
    """``{prefix}{kind}_{benchmark}_{id}.png``, link-safe and the same in every run.

    Ids carry '/', '#' and spaces (DIS5K names): runs of other characters become '_'
    and, when anything but the ``source/`` slash was replaced, 6 hex digits of the
    id's sha1 keep two such ids apart.
    """
    clean = lambda s: re.sub(r"[^A-Za-z0-9_.-]+", "_", s)  # noqa: E731
    name = f"{prefix}{kind}_{clean(benchmark)}_{clean(image_id)}"
    if clean(image_id.replace("/", "_", 1)) != image_id.replace("/", "_", 1):
        name += "_" + hashlib.sha1(image_id.encode("utf-8")).hexdigest()[:6]
    return name + ".png"


def select_cases(paired: pd.DataFrame, k: int = 3) -> list[tuple[str, pd.Series]]:
    """The ``k`` largest IoU gains (``win``) and the ``k`` largest losses (``loss``) of b over a.

    Only strictly positive gains and strictly negative losses are taken.
    """
    order = paired.sort_values(["iou_pct_diff", "benchmark", "id"], ascending=[False, True, True])
    wins = [("win", r) for _, r in order.head(k).iterrows() if r.iou_pct_diff > 0]
    losses = [("loss", r) for _, r in order.iloc[::-1].head(k).iterrows() if r.iou_pct_diff < 0]
    return wins + losses


def worst_boundary_window(gt: np.ndarray, pred: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) of the ``size``-square window with most boundary disagreement near the GT.

    Disagreement = pixels in one mask's boundary band (FACTS §4 width d) but not the
    other's, counted within d pixels of the GT's own band, so the close-up shows the
    object's edge rather than, say, the image border of an over-full prediction.
    """
    import cv2

    from hqseg.metrics import boundary_dilation

    h, w = gt.shape
    size = max(8, min(size, h, w))
    d = boundary_dilation(h, w)
    gt_band = boundary(gt)
    near = cv2.dilate(gt_band.astype(np.uint8), np.ones((2 * d + 1, 2 * d + 1), np.uint8)) > 0
    err = ((gt_band ^ boundary(pred)) & near).astype(np.float32)
    density = cv2.boxFilter(err, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
    y0 = int(np.clip(cy - size // 2, 0, h - size))
    x0 = int(np.clip(cx - size // 2, 0, w - size))
    return y0, x0, y0 + size, x0 + size


def overlay(image: np.ndarray, mask: np.ndarray, colour, *, gt: np.ndarray | None = None):
    """RGB image with ``mask`` tinted in ``colour`` and the GT outline drawn in green."""
    import cv2

    out = image.astype(np.float32).copy()
    out[mask] = 0.55 * out[mask] + 0.45 * np.array(colour, np.float32)
    out = out.astype(np.uint8)
    if gt is not None:
        contours, _ = cv2.findContours(gt.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, OVERLAY["gt"], 1)
    return out


def render_case(image, gt, a, b, title: str, path: Path, labels=("SAM", "HQ-SAM")) -> Path:
    """Two rows: GT | a | b overlays, then close-ups of b's worst boundary region."""
    from hqseg.report.plots import pyplot, save_figure

    plt = pyplot()
    h, w = gt.shape
    y0, x0, y1, x1 = worst_boundary_window(gt, b, max(32, min(h, w) // 3))
    panels = [
        ("GT", overlay(image, gt, OVERLAY["gt"])),
        (labels[0], overlay(image, a, OVERLAY["sam"], gt=gt)),
        (labels[1], overlay(image, b, OVERLAY["hq_sam"], gt=gt)),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(9, 6.2))
    for col, (name, pic) in enumerate(panels):
        axes[0, col].imshow(pic)
        axes[0, col].add_patch(
            plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="cyan", lw=1)
        )
        axes[0, col].set_title(name, fontsize=9)
        axes[1, col].imshow(pic[y0:y1, x0:x1], interpolation="nearest")
        axes[1, col].set_title(f"{name}: boundary close-up", fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.legend(handles=_legend_handles(plt, labels), loc="lower center", ncol=4, fontsize=7)
    return save_figure(fig, path)


def _legend_handles(plt, labels) -> list:
    """One entry per mark drawn by :func:`render_case`, in the colours it uses."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rgb = {k: tuple(c / 255 for c in v) for k, v in OVERLAY.items()}
    return [
        Patch(facecolor=rgb["gt"], alpha=0.45, label="GT mask (first panel)"),
        Line2D([], [], color=rgb["gt"], lw=1, label="GT outline"),
        Patch(facecolor=rgb["sam"], alpha=0.45, label=f"{labels[0]} mask"),
        Patch(facecolor=rgb["hq_sam"], alpha=0.45, label=f"{labels[1]} mask"),
        Patch(fill=False, edgecolor="cyan", label="close-up region"),
    ]


def _decode_rle(rle: dict) -> np.ndarray:
    from pycocotools import mask as mask_utils

    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")}) > 0


def _records_by_id(
    data_dir: Path | None, wanted: dict[str, str], specs: list[str] | None = None
) -> dict[str, dict]:
    """Records of the ``wanted`` ids (``{id: benchmark}``): from the ``--benchmark``
    source ``specs`` the results were scored on when given, else from ``data_dir``'s
    ``hq_eval`` config."""
    from hqseg.data.records import load_split

    found: dict[str, dict] = {}
    if specs:
        from hqseg.data.custom import custom_records

        for spec in specs:
            found |= {r["id"]: r for r in custom_records(spec) if r["id"] in wanted}
        return found
    for split in sorted(set(wanted.values())):
        ds = load_split(data_dir, "hq_eval", split)
        ids = set(k for k, v in wanted.items() if v == split)
        idx = [i for i, rid in enumerate(ds["id"]) if rid in ids]
        for rec in ds.select(idx):
            found[rec["id"]] = rec
    return found


def build_gallery(
    paired: pd.DataFrame,
    masks_a: dict[str, dict] | None,
    masks_b: dict[str, dict] | None,
    data_dir: Path | None,
    out_dir: Path,
    *,
    labels: tuple[str, str] = ("SAM", "HQ-SAM"),
    prefix: str = "",
    k: int = 3,
    specs: list[str] | None = None,
) -> tuple[list[dict], str | None]:
    """Render b's biggest wins and losses over a (``paired`` from ``pair_tables(a, b)``).

    Args:
        specs: the ``eval hq --benchmark`` specs the results came from (their
            provenance's ``data.specs``): the images are read from them, not ``data_dir``.
        masks_a, masks_b: ``{id: RLE}`` predictions of a and b.
        prefix: file-name prefix, so several galleries share one folder.

    Returns:
        (cases with their file ``path`` relative to ``out_dir``, reason when none was drawn).
    """
    from hqseg.data.records import decode_image, decode_mask
    from hqseg.errors import HqsegError

    if data_dir is None and not specs:
        return [], "no --data build folder given, so no images to draw"
    if not masks_a or not masks_b:
        return [], "the results have no hq/masks.json (predicted masks)"
    cases = select_cases(paired, k)
    if not cases:
        return [], f"{labels[0]} and {labels[1]} agree on every image"
    try:
        records = _records_by_id(data_dir, {r.id: r.benchmark for _, r in cases}, specs)
    except HqsegError as exc:
        return [], f"cannot read images from {' '.join(specs or []) or data_dir}: {exc}"
    out = []
    for kind, row in cases:
        rec, rle_a, rle_b = records.get(row.id), masks_a.get(row.id), masks_b.get(row.id)
        if rec is None or rle_a is None or rle_b is None:
            log.warning("gallery: %s has no image or predicted mask; left out", row.id)
            continue
        image, gt = decode_image(rec["image"]), binarize_gt(decode_mask(rec["mask"]))
        name = case_file_name(kind, row.benchmark, row.id, prefix)
        title = (
            f"{row.id} ({row.benchmark}): IoU {labels[0]} {row.iou_pct_a:.2f}% -> {labels[1]} "
            f"{row.iou_pct_b:.2f}%, BIoU {row.biou_pct_a:.2f}% -> {row.biou_pct_b:.2f}%"
        )
        render_case(
            image, gt, _decode_rle(rle_a), _decode_rle(rle_b), title, out_dir / name, labels
        )
        out.append(
            {
                "kind": kind,
                "id": row.id,
                "benchmark": row.benchmark,
                "iou_pct_diff": float(row.iou_pct_diff),
                "path": name,
            }
        )
    return out, None if out else "no gallery case had its image and masks"
