"""Pure metric functions on arrays and COCO RLEs, and COCO-style boundary AP."""

from hqseg.metrics.masks import boundary, boundary_dilation, boundary_iou, mask_iou

__all__ = ["boundary", "boundary_dilation", "boundary_iou", "mask_iou"]
