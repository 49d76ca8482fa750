"""Validation shared by the readers: boxes must be finite, non-empty and overlap their image."""
from __future__ import annotations

import numpy as np

from core.errors import LabelFormatError


def checked_box(x1: float, y1: float, x2: float, y2: float, width: float | None, height: float | None,
                where: str) -> tuple[float, float, float, float]:
    """Clip a box (xyxy, x2 = x + w) to the image; reject empty, inverted or fully outside boxes."""
    values = np.array([x1, y1, x2, y2], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise LabelFormatError(f"{where}: box coordinates are not finite")
    if x2 <= x1 or y2 <= y1:
        raise LabelFormatError(f"{where}: empty or inverted box ({x1:g}, {y1:g}, {x2:g}, {y2:g})")
    if width is not None and height is not None:
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            raise LabelFormatError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies outside the "
                                   f"{width:g}×{height:g} image")
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    return x1, y1, x2, y2
