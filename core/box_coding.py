"""Anchor-relative box deltas of SSH (py-faster-rcnn ``bbox_transform``), "+1" widths.

``encode(anchors, boxes)`` gives (dx, dy, dw, dh) with w = x2 - x1 + 1 and centre x1 + 0.5·w.
``decode(anchors, encode(anchors, boxes))`` returns ``boxes + [0, 0, 1, 1]``: like the original,
decoding does not subtract one from x2/y2 (a zero delta on [0, 0, 15, 15] gives [0, 0, 16, 16]).
No normalisation of the deltas (means 0, stds 1).
"""
from __future__ import annotations

import math

import torch

# exp(dw) beyond this would turn a 16-px anchor into a box far larger than any image (16·e^4.1 ≈ 1000 px).
LOG_SCALE_CLAMP = math.log(1000.0 / 16)
LOG2_E = 1.0 / math.log(2.0)


def _exp(x: torch.Tensor) -> torch.Tensor:
    """e^x as 2^(x·log2 e) (within 2.5e-7 relative). On the CPU ``torch.exp`` hands arrays of 128+
    elements to MKL's vector library, which threads them; when the other cores are busy (the video
    decoder of the viewer, another process) each call then waited ~4 ms for a thread, on arrays of a
    few hundred boxes (``bench/speed.py --busy-cores 1``). ``exp2`` runs inline."""
    return torch.exp2(x * LOG2_E)


def _widths_centres(boxes: torch.Tensor):
    w = boxes[..., 2] - boxes[..., 0] + 1.0
    h = boxes[..., 3] - boxes[..., 1] + 1.0
    return w, h, boxes[..., 0] + 0.5 * w, boxes[..., 1] + 0.5 * h


def encode(anchors: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Regression targets of ``boxes`` relative to ``anchors``.

    Args:
        anchors: Tensor[..., 4] xyxy inclusive.
        boxes: Tensor[..., 4] xyxy inclusive, same shape.
    Returns:
        Tensor[..., 4] (dx, dy, dw, dh).
    """
    aw, ah, acx, acy = _widths_centres(anchors)
    bw, bh, bcx, bcy = _widths_centres(boxes)
    return torch.stack([(bcx - acx) / aw, (bcy - acy) / ah, torch.log(bw / aw), torch.log(bh / ah)], dim=-1)


def decode(anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Boxes from deltas; inverse of ``encode`` up to the documented +1 on x2/y2.

    Args:
        anchors: Tensor[..., 4] xyxy inclusive.
        deltas: Tensor[..., 4] (dx, dy, dw, dh), broadcastable to anchors.
    Returns:
        Tensor[..., 4] xyxy ``[cx - w/2, cy - h/2, cx + w/2, cy + h/2]``.
    """
    sizes = anchors[..., 2:] - anchors[..., :2] + 1.0  # (w, h); x and y together: half the operations
    centres = deltas[..., :2] * sizes + (anchors[..., :2] + 0.5 * sizes)
    half = 0.5 * (_exp(deltas[..., 2:].clamp(max=LOG_SCALE_CLAMP)) * sizes)
    return torch.cat([centres - half, centres + half], dim=-1)
