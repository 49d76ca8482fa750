"""PR curves to JSON and to a PNG plot (drawn with OpenCV, so no plotting library is needed)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.atomic import atomic_path, write_text_atomic

COLOURS = {"easy": (46, 139, 87), "medium": (30, 144, 255), "hard": (220, 20, 60)}  # RGB
FONT = cv2.FONT_HERSHEY_SIMPLEX


def write_curves_json(path: Path, curves: dict, ap: dict, extra: dict | None = None) -> None:
    write_text_atomic(path, json.dumps({"ap": ap, "curves": curves, **(extra or {})}, indent=1))


@dataclass(frozen=True)
class PlotLayout:
    """Pixel rectangles (x1, y1, x2, y2) of the figure's parts; none overlaps another, so the legend never
    hides a curve and no label crosses the title."""

    width: int = 920
    height: int = 640
    title: tuple[int, int, int, int] = (20, 8, 900, 36)
    y_label: tuple[int, int, int, int] = (20, 40, 200, 62)
    plot: tuple[int, int, int, int] = (70, 70, 610, 570)
    x_label: tuple[int, int, int, int] = (300, 600, 400, 630)
    legend: tuple[int, int, int, int] = (640, 70, 910, 220)

    def to_px(self, recall: float, precision: float) -> tuple[int, int]:
        x1, y1, x2, y2 = self.plot
        return int(round(x1 + recall * (x2 - x1))), int(round(y2 - precision * (y2 - y1)))


def plot_curves_png(path: Path, curves: dict, ap: dict, references: dict | None = None, title: str = "",
                    layout: PlotLayout = PlotLayout()) -> None:
    """Precision (y) against recall (x), the legend beside the plot; ``references``: setting ->
    (precision, recall) drawn dashed."""
    img = np.full((layout.height, layout.width, 3), 255, np.uint8)
    to_px = layout.to_px
    for t in np.linspace(0, 1, 6):
        cv2.line(img, to_px(t, 0), to_px(t, 1), (225, 225, 225), 1)
        cv2.line(img, to_px(0, t), to_px(1, t), (225, 225, 225), 1)
        cv2.putText(img, f"{t:.1f}", (to_px(t, 0)[0] - 12, layout.plot[3] + 20), FONT, 0.45, (0, 0, 0), 1)
        cv2.putText(img, f"{t:.1f}", (layout.plot[0] - 40, to_px(0, t)[1] + 5), FONT, 0.45, (0, 0, 0), 1)
    cv2.rectangle(img, to_px(0, 1), to_px(1, 0), (0, 0, 0), 1)
    cv2.putText(img, title, (layout.title[0], layout.title[3] - 8), FONT, 0.6, (0, 0, 0), 1)
    cv2.putText(img, "precision", (layout.y_label[0], layout.y_label[3] - 6), FONT, 0.55, (0, 0, 0), 1)
    cv2.putText(img, "recall", (layout.x_label[0], layout.x_label[3] - 8), FONT, 0.55, (0, 0, 0), 1)
    legend_x, legend_y = layout.legend[0] + 8, layout.legend[1] + 24
    for row, (setting, curve) in enumerate(curves.items()):
        colour = COLOURS.get(setting, (0, 0, 0))
        pts = np.array([to_px(r, p) for r, p in zip(curve["recall"], curve["precision"]) if r > 0], np.int32)
        if len(pts) > 1:
            cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        if references and setting in references:
            p, r = references[setting]
            ref = np.array([to_px(a, b) for a, b in zip(r, p)], np.int32)
            for a, b in zip(ref[:-1:8], ref[4::8]):
                cv2.line(img, tuple(a), tuple(b), colour, 1, cv2.LINE_AA)
        cv2.putText(img, f"{setting}: AP {ap[setting]:.3f}", (legend_x, legend_y + 26 * row), FONT, 0.6, colour, 2)
    if references:
        for i, line in enumerate(("dashed: SSH paper", "(VGG-16, 1200/1600)")):
            cv2.putText(img, line, (legend_x, legend_y + 26 * len(curves) + 10 + 20 * i), FONT, 0.5, (80, 80, 80), 1)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not write the PR plot")
