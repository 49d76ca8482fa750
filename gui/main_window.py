"""The viewer window: source picker, playback controls, threshold, model/device, snapshot, recording."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QSlider,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.inference import Detector
from gui.video_view import VideoView
from sshvideo.capture import SourceError
from sshvideo.live import LiveSession
from sshvideo.render import draw_boxes
from sshvideo.sources import SourceKind, list_cameras, parse_source

log = logging.getLogger(__name__)

DetectorFactory = Callable[[str | None, str], Detector]  # (weights or None, device) -> Detector
SAMPLE_CLIP = Path(__file__).resolve().parent.parent / "sshvideo" / "samples" / "talking_head_720p.mp4"
SLIDER_STEPS = 100


class MainWindow(QMainWindow):
    """Emits ``frame_shown`` after painting each new result (tests wait on it) and ``ended`` with the
    reason when the source stops."""

    frame_shown = pyqtSignal(int)
    ended = pyqtSignal(str)

    def __init__(self, detector_factory: DetectorFactory, *, weights: str | None = None, device: str = "auto",
                 threshold: float = 0.5, camera_options: dict | None = None):
        super().__init__()
        self.setWindowTitle("sshvideo")
        self.resize(1100, 720)
        self._factory = detector_factory
        self.weights, self.device_name = weights, device
        self.detector: Detector | None = None
        self.session: LiveSession | None = None
        self._ended_session: LiveSession | None = None  # kept after the end so its stats stay readable
        self.source_text: str | None = None
        self.recording = False
        self.recorder = None  # created on the first recorded frame
        self.record_path: Path | None = None
        self.frames_shown = 0
        self._seeking = False
        self.camera_options = camera_options or {}  # size / fps / pixel_format for parse_source
        self._build_ui(threshold)
        self._poll_timer = QTimer(self, interval=5, timeout=self._poll)
        self._status_timer = QTimer(self, interval=500, timeout=self._update_status)
        self._poll_timer.start()
        self._status_timer.start()
        self._load_detector()

    # -- UI ------------------------------------------------------------------------------------
    def _build_ui(self, threshold: float):
        bar = QToolBar("controls", self)
        bar.setMovable(False)
        self.addToolBar(bar)
        self.source_box = QComboBox(self)
        self.source_box.setMinimumWidth(220)
        self.source_box.activated.connect(self._source_chosen)
        bar.addWidget(QLabel(" Source ", self))
        bar.addWidget(self.source_box)
        self.play_action = self._action(bar, "Pause", "Space", self.toggle_pause)
        self._action(bar, "Open file…", QKeySequence.StandardKey.Open, self._open_file_dialog)
        self._action(bar, "URL…", "Ctrl+U", self._open_url_dialog)
        bar.addSeparator()
        self._action(bar, "Snapshot", "Ctrl+S", self._snapshot_dialog)
        self.record_action = self._action(bar, "Record", "Ctrl+R", self._toggle_record_dialog)
        self._action(bar, "Weights…", "Ctrl+W", self._weights_dialog)
        self.device_box = QComboBox(self)
        self.device_box.addItems(self._available_devices())
        self.device_box.setCurrentText(self.device_name if self.device_name in self._available_devices() else "auto")
        self.device_box.currentTextChanged.connect(self.set_device)
        bar.addWidget(QLabel(" Device ", self))
        bar.addWidget(self.device_box)
        scores = self._action(bar, "Scores", "S", self._toggle_scores)
        scores.setCheckable(True)
        scores.setChecked(True)
        self._action(self, "Back 5 s", "Left", lambda: self.seek_relative(-5))
        self._action(self, "Forward 5 s", "Right", lambda: self.seek_relative(5))
        self._action(self, "Threshold up", "+", lambda: self.threshold_slider.setValue(self.threshold_slider.value() + 5))
        self._action(self, "Threshold down", "-", lambda: self.threshold_slider.setValue(self.threshold_slider.value() - 5))
        self._action(self, "Full screen", "F", lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen())
        self._action(self, "Quit", QKeySequence.StandardKey.Quit, self.close)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel("", central)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;")
        self.banner.hide()
        layout.addWidget(self.banner)
        self.view = VideoView(central)
        self.view.threshold = threshold
        layout.addWidget(self.view, 1)
        controls = QHBoxLayout()
        self.seek_slider = QSlider(Qt.Orientation.Horizontal, central)
        self.seek_slider.setRange(0, 1000)
        self.seek_slider.sliderPressed.connect(lambda: setattr(self, "_seeking", True))
        self.seek_slider.sliderReleased.connect(self._seek_released)
        self.time_label = QLabel("--:--", central)
        controls.addWidget(self.seek_slider, 4)
        controls.addWidget(self.time_label)
        self.threshold_label = QLabel("", central)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, central)
        self.threshold_slider.setRange(5, SLIDER_STEPS)
        self.threshold_slider.setValue(round(threshold * SLIDER_STEPS))
        self.threshold_slider.valueChanged.connect(self._threshold_changed)
        controls.addWidget(QLabel("  threshold", central))
        controls.addWidget(self.threshold_slider, 1)
        controls.addWidget(self.threshold_label)
        layout.addLayout(controls)
        self.setCentralWidget(central)
        self._threshold_changed(self.threshold_slider.value())
        self.status = QStatusBar(self)
        self.setStatusBar(self.status)
        self.status_label = QLabel("", self)
        self.status.addWidget(self.status_label, 1)
        self._refresh_sources()

    def _action(self, owner, text, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        owner.addAction(action)
        if owner is not self:
            self.addAction(action)
        return action

    @staticmethod
    def _available_devices() -> list[str]:
        import torch

        devices = ["auto", "cpu"]
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            devices.append("mps")
        return devices

    def _refresh_sources(self):
        self.source_box.clear()
        self.cameras = list_cameras()
        for cam in self.cameras:
            self.source_box.addItem(f"Camera: {cam.name}", cam.source)
        if SAMPLE_CLIP.is_file():
            self.source_box.addItem("Sample clip", str(SAMPLE_CLIP))
        self.source_box.addItem("Open file…", "__file__")
        self.source_box.addItem("Open URL…", "__url__")

    # -- errors ------------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        log.warning("%s", message)
        self.banner.setText(message)
        self.banner.show()

    def clear_error(self) -> None:
        self.banner.hide()
        self.banner.setText("")

    # -- model -------------------------------------------------------------------------------------
    def _load_detector(self) -> bool:
        try:
            self.detector = self._factory(self.weights, self.device_name)
        except Exception as exc:  # bad checkpoint, missing device: a message, the window stays usable
            self.show_error(f"Model not loaded: {exc}")
            return False
        return True

    def set_weights(self, path: str | None) -> bool:
        previous = self.weights
        self.weights = path
        if not self._load_detector():
            self.weights = previous
            return False
        self._restart_source()
        return True

    def set_device(self, device: str) -> bool:
        previous = self.device_name
        self.device_name = device
        if not self._load_detector():
            self.device_name = previous
            self.device_box.blockSignals(True)
            self.device_box.setCurrentText(previous)
            self.device_box.blockSignals(False)
            return False
        self._restart_source()
        return True

    # -- source ------------------------------------------------------------------------------------
    def open_source(self, text: str) -> bool:
        """Open a camera index/name, file or URL; on failure show why and keep the window usable."""
        self.close_source()
        self.source_text = text
        if self.detector is None:
            self.view.clear("No model loaded: choose weights (Ctrl+W).")
            return False
        try:
            spec = parse_source(text, **self.camera_options)
            session = LiveSession(spec, self.detector)
            session.start()
        except (SourceError, ValueError) as exc:
            self.view.clear(f"Cannot open {text}")
            self.show_error(str(exc))
            if self.isVisible():
                self.source_box.showPopup()  # offer another source right away
            return False
        self.session = session
        self.clear_error()
        self.play_action.setText("Pause")
        is_file = spec.kind is SourceKind.FILE
        self.seek_slider.setEnabled(is_file and bool(session.info.duration))
        self.view.message = ""
        return True

    def close_source(self) -> None:
        self.stop_recording()
        if self.session is not None:
            self.session.stop(timeout=0.5)
            self.session = None

    def _restart_source(self):
        if self.source_text is not None:
            self.open_source(self.source_text)

    def _source_chosen(self, index: int):
        data = self.source_box.itemData(index)
        if data == "__file__":
            self._open_file_dialog()
        elif data == "__url__":
            self._open_url_dialog()
        elif data:
            self.open_source(data)

    def _open_file_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.m4v);;"
                                                                      "All files (*)")
        if path:
            self.open_source(path)

    def _open_url_dialog(self):
        url, ok = QInputDialog.getText(self, "Open stream", "URL (rtsp://, http://, …):")
        if ok and url.strip():
            self.open_source(url.strip())

    def _weights_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.set_weights(path)

    # -- playback ----------------------------------------------------------------------------------
    def toggle_pause(self):
        if self.session is None:
            if self.source_text:
                self.open_source(self.source_text)
            return
        if self.session.ended is not None and self.session.spec.kind is SourceKind.FILE:
            self.open_source(self.source_text)  # replay a finished file
            return
        paused = not self.session.capture.paused
        self.session.pause(paused)
        self.play_action.setText("Play" if paused else "Pause")

    def seek(self, seconds: float) -> None:
        if self.session is not None and self.session.spec.kind is SourceKind.FILE:
            if self.session.ended is not None:
                self.open_source(self.source_text)
            self.session.seek(seconds)

    def seek_relative(self, delta: float) -> None:
        frame_time = getattr(self, "_last_time", 0.0)
        self.seek(max(0.0, frame_time + delta))

    def _seek_released(self):
        self._seeking = False
        if self.session is not None and self.session.info and self.session.info.duration:
            self.seek(self.seek_slider.value() / 1000 * self.session.info.duration)

    def _threshold_changed(self, value: int):
        self.view.set_threshold(value / SLIDER_STEPS)
        self.threshold_label.setText(f"{value / SLIDER_STEPS:.2f}")

    def _toggle_scores(self, checked: bool):
        self.view.show_scores = checked
        self.view.update()

    # -- frames ------------------------------------------------------------------------------------
    def _poll(self):
        if self.session is None:
            return
        result = self.session.poll()
        if result is not None:
            self._last_time = result.frame.time
            self.view.set_frame(result.frame.image, result.detections)
            self.frames_shown += 1
            if self.recording:
                self._record(result)
            info = self.session.info
            if info and info.duration and not self._seeking:
                self.seek_slider.blockSignals(True)
                self.seek_slider.setValue(int(1000 * min(1.0, (result.frame.time - info.start_time) / info.duration)))
                self.seek_slider.blockSignals(False)
            self.time_label.setText(f"{int(result.frame.time // 60):02d}:{result.frame.time % 60:05.2f}")
            self.frame_shown.emit(result.frame.index)
        elif self.session.ended is not None:
            end = self.session.ended
            if end.error is not None:
                self.show_error(str(end.error))
            elif self.session.spec.kind is SourceKind.FILE:
                self.status.showMessage("End of file: press Space to play again", 5000)
            else:
                self.show_error(f"{self.session.spec.label}: {end.reason}")
            self.stop_recording()
            self.play_action.setText("Play")
            session, self.session = self.session, None
            session.stop(timeout=0.5)
            self._ended_session = session
            self.ended.emit(end.reason)

    def current_or_last_session(self) -> LiveSession | None:
        """The playing session, else the one that ended last (its stats stay readable), else None."""
        return self.session or self._ended_session

    def _update_status(self):
        session = self.current_or_last_session()
        device = self.detector.runs_on if self.detector else "-"
        if session is None or session.info is None:
            self.status_label.setText(f"no source   device {device}")
            return
        s, info = session.stats(), session.info
        rec = "   ● REC" if self.recording else ""
        self.status_label.setText(
            f"{session.spec.label}   {info.width}×{info.height}   display {s.display_fps:.1f} fps   "
            f"detector {s.detector_fps:.1f} fps   latency {s.latency_ms:.0f} ms   dropped {s.dropped}   "
            f"device {device}{rec}")

    # -- snapshot and recording --------------------------------------------------------------------------
    def save_snapshot(self, path: str | Path) -> Path:
        image = self.view.snapshot()
        if image is None:
            raise RuntimeError("no frame to save yet")
        path = Path(path)
        if not image.save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the snapshot")
        self.status.showMessage(f"saved {path}", 4000)
        return path

    def _snapshot_dialog(self):
        default = str(Path.cwd() / time.strftime("sshvideo_%Y%m%d_%H%M%S.png"))
        path, _ = QFileDialog.getSaveFileName(self, "Save snapshot", default, "PNG (*.png)")
        if path:
            try:
                self.save_snapshot(path)
            except (OSError, RuntimeError) as exc:
                self.show_error(str(exc))

    def start_recording(self, path: str | Path) -> None:
        if self.session is None or self.session.info is None:
            raise RuntimeError("nothing to record: no source is open")
        self.record_path = Path(path)
        self.recording = True
        self.record_action.setText("Stop recording")

    def _record(self, result):
        from sshvideo.video_writer import VideoWriter

        try:
            if self.recorder is None:  # timestamps count from the first recorded frame: it is at 0 s
                self.recorder = VideoWriter(self.record_path, self.session.info, shift=result.frame.time)
            self.recorder.write(draw_boxes(result.frame.image, result.detections.above(self.view.threshold),
                                           self.view.show_scores), result.frame.time)
        except Exception as exc:  # disk full, encoder failure: stop recording, keep viewing
            self.show_error(f"recording stopped: {exc}")
            self.stop_recording()

    def stop_recording(self) -> None:
        if not self.recording:
            return
        self.recording = False
        self.record_action.setText("Record")
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                recorder.close()
                self.status.showMessage(f"recorded {self.record_path}", 4000)
            except Exception as exc:  # a file that cannot be finalised is reported, not raised into Qt
                self.show_error(f"recording failed: {exc}")

    def _toggle_record_dialog(self):
        if self.recording:
            self.stop_recording()
            return
        default = str(Path.cwd() / time.strftime("sshvideo_%Y%m%d_%H%M%S.mp4"))
        path, _ = QFileDialog.getSaveFileName(self, "Record to", default, "MP4 (*.mp4)")
        if path:
            try:
                self.start_recording(path)
            except Exception as exc:
                self.show_error(str(exc))

    def closeEvent(self, event):
        self._poll_timer.stop()
        self._status_timer.stop()
        self.close_source()
        super().closeEvent(event)
