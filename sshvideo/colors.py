"""The score colour map shared by the annotator, `detect --draw` and the viewer."""
from __future__ import annotations


def score_color(score: float) -> tuple[int, int, int]:
    """RGB colour of a detection: blue (0, 0, 255) at score ≤ 0.5, green (0, 255, 0) at 1.0, linear between."""
    t = min(1.0, max(0.0, (float(score) - 0.5) / 0.5))
    return 0, round(255 * t), round(255 * (1 - t))
