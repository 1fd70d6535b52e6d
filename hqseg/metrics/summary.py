"""Readable tables of the 12 COCO summary stats."""

from __future__ import annotations

from collections.abc import Mapping

# (name, AP or AR, IoU, area, maxDets), in COCOeval.summarize() order
STAT_ROWS = (
    ("AP", "AP", "0.50:0.95", "all", 100),
    ("AP50", "AP", "0.50", "all", 100),
    ("AP75", "AP", "0.75", "all", 100),
    ("APs", "AP", "0.50:0.95", "small", 100),
    ("APm", "AP", "0.50:0.95", "medium", 100),
    ("APl", "AP", "0.50:0.95", "large", 100),
    ("AR1", "AR", "0.50:0.95", "all", 1),
    ("AR10", "AR", "0.50:0.95", "all", 10),
    ("AR100", "AR", "0.50:0.95", "all", 100),
    ("ARs", "AR", "0.50:0.95", "small", 100),
    ("ARm", "AR", "0.50:0.95", "medium", 100),
    ("ARl", "AR", "0.50:0.95", "large", 100),
)


def format_stats(stats: Mapping[str, Mapping[str, float]]) -> str:
    """One table, a row per stat and a column per IoU type (e.g. segm, boundary).

    Values print with 3 decimals as COCOeval does; -1 means no ground truth for the stat.
    """
    types = list(stats)
    head = f"{'stat':<6} {'kind':<4} {'IoU':<9} {'area':<6} {'maxDets':>7}"
    lines = [head + "".join(f" {t:>9}" for t in types)]
    lines.append("-" * len(lines[0]))
    for name, kind, iou, area, max_dets in STAT_ROWS:
        row = f"{name:<6} {kind:<4} {iou:<9} {area:<6} {max_dets:>7}"
        lines.append(row + "".join(f" {stats[t][name]:>9.3f}" for t in types))
    return "\n".join(lines)
