"""PR curves to JSON and to a PNG plot (drawn with OpenCV, so no plotting library is needed)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

COLOURS = {"easy": (46, 139, 87), "medium": (30, 144, 255), "hard": (220, 20, 60)}  # RGB


def write_curves_json(path: Path, curves: dict, ap: dict, extra: dict | None = None) -> None:
    payload = {"ap": ap, "curves": curves, **(extra or {})}
    path.write_text(json.dumps(payload, indent=1))


def plot_curves_png(path: Path, curves: dict, ap: dict, references: dict | None = None, title: str = "") -> None:
    """Precision (y) against recall (x); ``references``: setting -> (precision, recall) drawn dashed."""
    w, h, m = 800, 600, 60
    img = np.full((h, w, 3), 255, np.uint8)

    def to_px(r, p):
        return int(m + r * (w - 2 * m)), int(h - m - p * (h - 2 * m))

    for t in np.linspace(0, 1, 6):
        cv2.line(img, to_px(t, 0), to_px(t, 1), (225, 225, 225), 1)
        cv2.line(img, to_px(0, t), to_px(1, t), (225, 225, 225), 1)
        cv2.putText(img, f"{t:.1f}", (to_px(t, 0)[0] - 12, h - m + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        cv2.putText(img, f"{t:.1f}", (m - 40, to_px(0, t)[1] + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    cv2.rectangle(img, to_px(0, 1), to_px(1, 0), (0, 0, 0), 1)
    cv2.putText(img, "recall", (w // 2 - 25, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
    cv2.putText(img, "precision", (5, m - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
    cv2.putText(img, title, (m, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
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
        label = f"{setting}: AP {ap[setting]:.3f}"
        cv2.putText(img, label, (w - m - 230, m + 30 + 25 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)
    if references:
        cv2.putText(img, "dashed: SSH paper (VGG-16, 1200/1600)", (w - m - 330, m + 110), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (80, 80, 80), 1)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
