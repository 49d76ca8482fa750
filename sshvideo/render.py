"""Drawing detections onto RGB uint8 frames: boxes coloured by score, or anonymising masks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from core.inference import Detections
from sshvideo.colors import score_color


def _scaled_boxes(boxes: np.ndarray, scale: float, height: int, width: int) -> np.ndarray:
    """Grow boxes about their centre by ``scale`` and clip to the frame; integer (N, 4)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * scale
    grown = np.concatenate([centre - half, centre + half], axis=1)
    grown[:, 0::2] = grown[:, 0::2].clip(0, width)
    grown[:, 1::2] = grown[:, 1::2].clip(0, height)
    return np.round(grown).astype(np.int64)


def draw_boxes(frame: np.ndarray, dets: Detections, draw_scores: bool = False, thickness: int | None = None,
               ids: np.ndarray | None = None) -> np.ndarray:
    """Return a copy of ``frame`` (RGB uint8) with each box drawn in its score colour; a label above its
    top-left corner shows ``#id`` (``ids`` (N,) given) and/or the score (``draw_scores``)."""
    out = frame.copy()
    h, w = out.shape[:2]
    thickness = thickness or max(1, round(min(h, w) / 360))
    for k, ((x1, y1, x2, y2), s) in enumerate(zip(_scaled_boxes(dets.boxes, 1.0, h, w), dets.scores)):
        colour = score_color(s)
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), colour, thickness, cv2.LINE_AA)
        parts = ([f"#{ids[k]}"] if ids is not None else []) + ([f"{s:.2f}"] if draw_scores else [])
        if parts:
            _label(out, " ".join(parts), int(x1), int(y1), colour, thickness)
    return out


def _label(out: np.ndarray, text: str, x: int, y: int, colour, thickness: int) -> None:
    """White text on a ``colour`` patch whose bottom-left is (x, y), pushed down to stay inside the frame."""
    scale = max(0.4, thickness * 0.4)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y_text = max(th + base, y)
    cv2.rectangle(out, (x, y_text - th - base), (x + tw, y_text), colour, -1)
    cv2.putText(out, text, (x, y_text - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _blurred(roi: np.ndarray) -> np.ndarray:
    k = max(3, (max(roi.shape[:2]) // 3) | 1)
    return cv2.GaussianBlur(roi, (k, k), 0)


def _pixelated(roi: np.ndarray, cell: int = 20) -> np.ndarray:
    h, w = roi.shape[:2]
    small = cv2.resize(roi, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _hide_in_ellipse(hide: Callable[[np.ndarray], np.ndarray]):
    """A face-hiding function that replaces the ellipse inscribed in the grown box by ``hide(box pixels)``."""
    def apply(roi: np.ndarray) -> None:
        hidden = hide(roi)
        h, w = roi.shape[:2]
        mask = np.zeros((h, w), dtype=np.uint8)
        cv2.ellipse(mask, (w // 2, h // 2), (w // 2, h // 2), 0, 0, 360, 255, -1)
        roi[mask > 0] = hidden[mask > 0]
    return apply


def _fill_black(roi: np.ndarray) -> None:
    roi[:] = 0


# Each hides one face in place, given the pixels of its grown box (deface's modes).
FACE_HIDERS: dict[str, Callable[[np.ndarray], None]] = {
    "blur": _hide_in_ellipse(_blurred),
    "mosaic": _hide_in_ellipse(_pixelated),
    "solid": _fill_black,
}


def anonymise(frame: np.ndarray, dets: Detections, mode: str, mask_scale: float = 1.3) -> np.ndarray:
    """A copy of ``frame`` (RGB uint8) with every face hidden by ``FACE_HIDERS[mode]`` inside its box
    grown ``mask_scale`` times about its centre."""
    hide = FACE_HIDERS[mode]
    out = frame.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in _scaled_boxes(dets.boxes, mask_scale, h, w):
        if x2 > x1 and y2 > y1:
            hide(out[y1:y2, x1:x2])
    return out


@dataclass(frozen=True)
class RenderSettings:
    draw_scores: bool = False  # print each box's score (with a hiding mode: the boxes too)
    mask_scale: float = 1.3  # hiding modes: grow each box by this factor about its centre
    draw_ids: bool = False  # print each box's track id (faces with ``ids``; with a hiding mode: the boxes too)


# ``dets``: anything with ``boxes`` (N, 4) and ``scores`` (N,), and ``ids`` (N,) or None for --draw-ids
# (``core.inference.Detections``, ``sshvideo.exporters.Faces``).
Renderer = Callable[[np.ndarray, Detections, RenderSettings], np.ndarray]


def _ids_to_draw(dets, settings: RenderSettings) -> np.ndarray | None:
    return getattr(dets, "ids", None) if settings.draw_ids else None


def _hiding_renderer(mode: str) -> Renderer:
    def render_hidden(frame, dets, settings):
        out = anonymise(frame, dets, mode, settings.mask_scale)
        ids = _ids_to_draw(dets, settings)
        if not settings.draw_scores and ids is None:
            return out
        return draw_boxes(out, dets, draw_scores=settings.draw_scores, ids=ids)
    return render_hidden


# What ``annotate --render MODE`` draws on each frame: RGB uint8 (H, W, 3) in, a new frame out.
RENDERERS: dict[str, Renderer] = {
    "none": lambda frame, dets, settings: frame,
    "boxes": lambda frame, dets, settings: draw_boxes(frame, dets, settings.draw_scores,
                                                      ids=_ids_to_draw(dets, settings)),
    **{mode: _hiding_renderer(mode) for mode in FACE_HIDERS},
}


def render(frame: np.ndarray, dets: Detections, mode: str, settings: RenderSettings = RenderSettings()) -> np.ndarray:
    return RENDERERS[mode](frame, dets, settings)
