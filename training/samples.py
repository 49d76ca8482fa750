"""The one sample type every label reader produces."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sample:
    """One labelled image (or video frame).

    Attributes:
        source: the image file, or the video file when ``frame_index`` is set.
        boxes: float32 (M, 4) xyxy face boxes in original pixels, x2 = x + w (WIDER/SSH convention).
        frame_index: 0-based frame of ``source`` for video labels, else None.
        invalid: bool (M,) WIDER "invalid" flags (kept for training like the reference; reported only).
    """

    source: Path
    boxes: np.ndarray
    frame_index: int | None = None
    invalid: np.ndarray = field(default=None)

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        if self.invalid is None:
            self.invalid = np.zeros(len(self.boxes), dtype=bool)

    @property
    def key(self) -> str:
        return str(self.source) if self.frame_index is None else f"{self.source}#{self.frame_index}"


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(M, 4) x, y, w, h -> x1, y1, x1 + w, y1 + h."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
