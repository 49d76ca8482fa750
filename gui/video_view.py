"""The widget that paints a frame and its detections with QPainter."""
from __future__ import annotations

import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from core.inference import Detections
from gui.geometry import fit_rect, map_boxes
from sshvideo.colors import score_color
from sshvideo.tracking import Tracks


def qimage_from_rgb(frame: np.ndarray) -> QImage:
    """Wrap an RGB uint8 (H, W, 3) array without copying; the caller keeps ``frame`` alive.

    PyAV frames may carry row padding, so the real row stride is passed as bytesPerLine.
    """
    if frame.strides[1:] != (3, 1):
        raise ValueError("frame pixels must be packed RGB (rows may be padded)")
    h, w = frame.shape[:2]
    return QImage(sip.voidptr(frame.ctypes.data), w, h, frame.strides[0], QImage.Format.Format_RGB888)


class VideoView(QWidget):
    """Shows the newest frame letterboxed, boxes above ``threshold`` in their score colour.

    Given tracks (``sshvideo.tracking.Tracks``, made at ``tracks_threshold``), it shows the tracks' boxes
    instead, with their ids when ``show_ids``; after a threshold change, until tracks made at the new
    threshold arrive, it shows the frame's detections above it (so the slider acts at once, paused too).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._dets: Detections | None = None
        self._tracks: Tracks | None = None
        self._tracks_threshold: float | None = None
        self.threshold = 0.5
        self.show_scores = True
        self.show_ids = True
        self.message = ""

    def set_frame(self, frame: np.ndarray, dets: Detections, tracks: Tracks | None = None,
                  tracks_threshold: float | None = None) -> None:
        self._frame = frame  # keeps the buffer the QImage points into alive
        self._image = qimage_from_rgb(frame)
        self._dets = dets
        self._tracks, self._tracks_threshold = tracks, tracks_threshold
        self.update()

    def clear(self, message: str = "") -> None:
        self._frame = self._image = self._dets = self._tracks = None
        self.message = message
        self.update()

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        self.update()

    def _visible(self) -> tuple[Detections, np.ndarray | None] | None:
        """The boxes shown and their track ids (None without tracks), or None without a frame."""
        if self._tracks is not None and self.threshold == self._tracks_threshold:
            return Detections(self._tracks.boxes, self._tracks.scores), self._tracks.ids
        return None if self._dets is None else (self._dets.above(self.threshold), None)

    def visible_detections(self) -> Detections | None:
        visible = self._visible()
        return None if visible is None else visible[0]

    def visible_ids(self) -> np.ndarray | None:
        """(K,) track ids of ``visible_detections()``, or None when the view has no tracks."""
        visible = self._visible()
        return None if visible is None else visible[1]

    def paint_onto(self, painter: QPainter, width: int, height: int) -> None:
        """Draw the current frame and boxes into a ``width`` × ``height`` area (widget or snapshot)."""
        painter.fillRect(0, 0, width, height, QColor(20, 20, 20))
        if self._image is None:
            if self.message:
                painter.setPen(QColor(230, 230, 230))
                painter.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 self.message)
            return
        fw, fh = self._image.width(), self._image.height()
        rect = fit_rect(fw, fh, width, height)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(*rect), self._image)
        visible = self._visible()
        if visible is None or len(visible[0]) == 0:
            return
        dets, ids = visible
        font = QFont()
        font.setPointSizeF(max(7.0, min(12.0, rect[3] / 50)))
        painter.setFont(font)
        for k, ((x1, y1, x2, y2), score) in enumerate(zip(map_boxes(dets.boxes, fw, fh, rect), dets.scores)):
            colour = QColor(*score_color(score))
            pen = QPen(colour, 2)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
            parts = ([f"#{ids[k]}"] if self.show_ids and ids is not None else []) + \
                ([f"{score:.2f}"] if self.show_scores else [])
            if parts:
                label = " ".join(parts)
                metrics = painter.fontMetrics()
                tw, th = metrics.horizontalAdvance(label) + 4, metrics.height()
                top = max(0.0, y1 - th)
                painter.fillRect(QRectF(x1, top, tw, th), colour)
                painter.setPen(QColor(255, 255, 255))
                painter.drawText(QRectF(x1 + 2, top, tw, th), Qt.AlignmentFlag.AlignVCenter, label)

    def paintEvent(self, event):
        painter = QPainter(self)
        try:
            self.paint_onto(painter, self.width(), self.height())
        finally:
            painter.end()

    def snapshot(self) -> QImage | None:
        """The current frame at its own resolution with the boxes drawn, or None."""
        if self._image is None:
            return None
        image = QImage(self._image.width(), self._image.height(), QImage.Format.Format_RGB888)
        painter = QPainter(image)
        try:
            self.paint_onto(painter, image.width(), image.height())
        finally:
            painter.end()
        return image
