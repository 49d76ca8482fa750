"""Pure geometry of the video view (no Qt): letterboxing and mapping boxes to the widget."""
from __future__ import annotations

import numpy as np


def fit_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float, float]:
    """Largest rectangle of the source's aspect ratio centred in the destination: (x, y, w, h)."""
    if src_w <= 0 or src_h <= 0 or dst_w <= 0 or dst_h <= 0:
        return 0.0, 0.0, 0.0, 0.0
    scale = min(dst_w / src_w, dst_h / src_h)
    w, h = src_w * scale, src_h * scale
    return (dst_w - w) / 2, (dst_h - h) / 2, w, h


def map_boxes(boxes: np.ndarray, src_w: int, src_h: int, rect: tuple[float, float, float, float]) -> np.ndarray:
    """(N, 4) xyxy frame pixels -> (N, 4) xyxy widget pixels inside ``rect``."""
    x, y, w, h = rect
    sx, sy = w / src_w, h / src_h
    return np.asarray(boxes, dtype=np.float64) * [sx, sy, sx, sy] + [x, y, x, y]
