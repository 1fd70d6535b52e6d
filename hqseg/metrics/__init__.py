"""Pure metric functions on arrays and COCO RLEs, and COCO-style mask and boundary AP."""

from hqseg.metrics.coco_eval import (
    IOU_TYPES,
    STAT_NAMES,
    BoundaryCOCOeval,
    IoUCache,
    evaluate_coco,
)
from hqseg.metrics.masks import boundary, boundary_dilation, boundary_iou, mask_iou
from hqseg.metrics.rle import (
    boundary_iou_rle,
    boundary_rle,
    mask_iou_rle,
    rle_to_crop,
    segmentation_to_rle,
)
from hqseg.metrics.summary import format_stats

__all__ = [
    "IOU_TYPES",
    "STAT_NAMES",
    "BoundaryCOCOeval",
    "IoUCache",
    "boundary",
    "boundary_dilation",
    "boundary_iou",
    "boundary_iou_rle",
    "boundary_rle",
    "evaluate_coco",
    "format_stats",
    "mask_iou",
    "mask_iou_rle",
    "rle_to_crop",
    "segmentation_to_rle",
]
