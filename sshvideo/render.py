"""Drawing detections onto RGB uint8 frames: boxes coloured by score, or anonymising masks."""
from __future__ import annotations

from enum import Enum

import cv2
import numpy as np

from core.inference import Detections
from sshvideo.colors import score_color


class RenderMode(str, Enum):
    NONE = "none"
    BOXES = "boxes"
    BLUR = "blur"
    MOSAIC = "mosaic"
    SOLID = "solid"


def _scaled_boxes(boxes: np.ndarray, scale: float, height: int, width: int) -> np.ndarray:
    """Grow boxes about their centre by ``scale`` and clip to the frame; integer (N, 4)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * scale
    grown = np.concatenate([centre - half, centre + half], axis=1)
    grown[:, 0::2] = grown[:, 0::2].clip(0, width)
    grown[:, 1::2] = grown[:, 1::2].clip(0, height)
    return np.round(grown).astype(np.int64)


def draw_boxes(frame: np.ndarray, dets: Detections, draw_scores: bool = False, thickness: int | None = None) -> np.ndarray:
    """Return a copy of ``frame`` (RGB uint8) with each box drawn in its score colour."""
    out = frame.copy()
    h, w = out.shape[:2]
    thickness = thickness or max(1, round(min(h, w) / 360))
    for (x1, y1, x2, y2), s in zip(_scaled_boxes(dets.boxes, 1.0, h, w), dets.scores):
        colour = score_color(s)
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), colour, thickness, cv2.LINE_AA)
        if draw_scores:
            label = f"{s:.2f}"
            scale = max(0.4, thickness * 0.4)
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            y_text = max(th + base, int(y1))
            cv2.rectangle(out, (int(x1), y_text - th - base), (int(x1) + tw, y_text), colour, -1)
            cv2.putText(out, label, (int(x1), y_text - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                        cv2.LINE_AA)
    return out


def anonymise(frame: np.ndarray, dets: Detections, mode: RenderMode, mask_scale: float = 1.3,
              mosaic_size: int = 20) -> np.ndarray:
    """Hide every face: Gaussian blur or mosaic inside an ellipse, or a solid black box (deface's modes)."""
    out = frame.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in _scaled_boxes(dets.boxes, mask_scale, h, w):
        if x2 <= x1 or y2 <= y1:
            continue
        roi = out[y1:y2, x1:x2]
        if mode is RenderMode.SOLID:
            roi[:] = 0
            continue
        if mode is RenderMode.BLUR:
            k = max(3, (max(x2 - x1, y2 - y1) // 3) | 1)
            hidden = cv2.GaussianBlur(roi, (k, k), 0)
        elif mode is RenderMode.MOSAIC:
            small = cv2.resize(roi, (max(1, (x2 - x1) // mosaic_size), max(1, (y2 - y1) // mosaic_size)),
                               interpolation=cv2.INTER_AREA)
            hidden = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        else:
            raise ValueError(f"not an anonymising mode: {mode}")
        mask = np.zeros(roi.shape[:2], dtype=np.uint8)
        cv2.ellipse(mask, ((x2 - x1) // 2, (y2 - y1) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, 255, -1)
        roi[mask > 0] = hidden[mask > 0]
    return out


def render(frame: np.ndarray, dets: Detections, mode: RenderMode, *, draw_scores: bool = False,
           mask_scale: float = 1.3) -> np.ndarray:
    if mode is RenderMode.BOXES:
        return draw_boxes(frame, dets, draw_scores)
    if mode is RenderMode.NONE:
        return frame
    out = anonymise(frame, dets, mode, mask_scale)
    return draw_boxes(out, dets, draw_scores=True) if draw_scores else out
