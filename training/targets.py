"""Per-module anchor labels and regression targets (SSH anchor_target_layer.py, reference 3.1/3.3).

Labels: 1 face, 0 background, -1 ignored. An anchor is background when its best IoU ("+1" areas)
with every face is < 0.3 and a face when it is ≥ 0.5; positives overwrite. There is no forced
best-anchor-per-face match: a face that fits no anchor of a module has no positive there. Anchors
more than ``allowed_border`` pixels outside the image are ignored (M1/M2: 0, M3: 512); if that
leaves none, all anchors are used.
"""
from __future__ import annotations

import torch

from core.box_coding import encode
from core.boxes import box_iou_inclusive

IGNORE, BACKGROUND, FACE = -1, 0, 1
POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.3


def inside_image(anchors: torch.Tensor, height: int, width: int, allowed_border: int) -> torch.Tensor:
    """(R, 4) anchors -> (R,) bool: x1 ≥ -b, y1 ≥ -b, x2 < W + b, y2 < H + b."""
    b = allowed_border
    keep = ((anchors[:, 0] >= -b) & (anchors[:, 1] >= -b)
            & (anchors[:, 2] < width + b) & (anchors[:, 3] < height + b))
    return keep if bool(keep.any()) else torch.ones_like(keep)


def assign_targets(anchors: torch.Tensor, faces: torch.Tensor, height: int, width: int, allowed_border: int,
                   positive_iou: float = POSITIVE_IOU, negative_iou: float = NEGATIVE_IOU
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and box targets of one module for one image.

    Args:
        anchors: (R, 4) xyxy anchors of the module.
        faces: (M, 4) xyxy ground-truth faces (M may be 0).
        height, width: size of the (resized) training image.
    Returns:
        labels (R,) int64 in {-1, 0, 1}; deltas (R, 4) regression targets (meaningful where label is 1).
    """
    labels = torch.full((anchors.shape[0],), IGNORE, dtype=torch.int64, device=anchors.device)
    inside = inside_image(anchors, height, width, allowed_border)
    if faces.shape[0] == 0:
        labels[inside] = BACKGROUND
        return labels, torch.zeros_like(anchors)
    iou = box_iou_inclusive(anchors, faces)  # (R, M)
    best_iou, best_face = iou.max(dim=1)  # first index on ties, as numpy argmax
    labels[best_iou < negative_iou] = BACKGROUND
    labels[best_iou >= positive_iou] = FACE
    labels[~inside] = IGNORE
    return labels, encode(anchors, faces[best_face])
