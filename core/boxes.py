"""Box geometry in the original "+1" (inclusive pixel) convention, as pure tensor functions.

Boxes are Tensor[N, 4] xyxy in absolute pixels. Area = (x2 - x1 + 1)·(y2 - y1 + 1).
"""
from __future__ import annotations

import torch


def box_area_inclusive(boxes: torch.Tensor) -> torch.Tensor:
    """Tensor[N, 4] -> Tensor[N] areas with "+1" widths."""
    return (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)


def box_iou_inclusive(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU with "+1" widths (py-faster-rcnn ``bbox_overlaps``).

    Args:
        a: Tensor[N, 4] xyxy, b: Tensor[M, 4] xyxy.
    Returns:
        Tensor[N, M]; 0 where the boxes do not overlap.
    """
    iw = (torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0], b[None, :, 0]) + 1).clamp(min=0)
    ih = (torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1], b[None, :, 1]) + 1).clamp(min=0)
    inter = iw * ih
    union = box_area_inclusive(a)[:, None] + box_area_inclusive(b)[None, :] - inter
    return inter / union.clamp(min=1e-9)

