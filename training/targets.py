"""Per-module anchor labels and regression targets (SSH anchor_target_layer.py, reference 3.1/3.3).

Labels: 1 face, 0 background, -1 ignored. An anchor is background when its best IoU ("+1" areas)
with every face is < 0.3 and a face when it is ≥ 0.5; positives overwrite. There is no forced
best-anchor-per-face match: a face that fits no anchor of a module has no positive there. Anchors
more than ``allowed_border`` pixels outside the image are ignored (M1/M2: 0, M3: 512); if that
leaves none, all anchors are used. Anchors whose centre lies outside the image are ignored as well: in a
batch padded to a common size (``training.dataset.collate``) their centre is on padding, which no test
frame has (not in the reference, which trains one image at a time). The 0-px border of M1/M2 already
ignores them, so this changes M3 and recipes with a wider ``allowed_border``.
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


def centres_inside(anchors: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(R, 4) anchors -> (R,) bool: centre ((x1 + x2) / 2, (y1 + y2) / 2) has x < W and y < H.

    Batches are padded only bottom/right and grid centres start at 7.5 px, so only these two edges can
    put a centre on padding. Unlike the border rule there is no fallback: an anchor centred on padding
    never sees the image it would have to classify."""
    cx = (anchors[:, 0] + anchors[:, 2]) * 0.5
    cy = (anchors[:, 1] + anchors[:, 3]) * 0.5
    return (cx < width) & (cy < height)


def assign_targets(anchors: torch.Tensor, faces: torch.Tensor, height: int, width: int, allowed_border: int,
                   positive_iou: float = POSITIVE_IOU, negative_iou: float = NEGATIVE_IOU
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and box targets of one module for one image.

    Args:
        anchors: (R, 4) xyxy anchors of the module.
        faces: (M, 4) xyxy ground-truth faces (M may be 0).
        height, width: size of the (resized) training image, without any batch padding.
    Returns:
        labels (R,) int64 in {-1, 0, 1}; deltas (R, 4) regression targets (meaningful where label is 1).
    """
    labels = torch.full((anchors.shape[0],), IGNORE, dtype=torch.int64, device=anchors.device)
    inside = inside_image(anchors, height, width, allowed_border) & centres_inside(anchors, height, width)
    if faces.shape[0] == 0:
        labels[inside] = BACKGROUND
        return labels, torch.zeros_like(anchors)
    iou = box_iou_inclusive(anchors, faces)  # (R, M)
    best_iou, best_face = iou.max(dim=1)  # first index on ties, as numpy argmax
    labels[best_iou < negative_iou] = BACKGROUND
    labels[best_iou >= positive_iou] = FACE
    labels[~inside] = IGNORE
    return labels, encode(anchors, faces[best_face])
