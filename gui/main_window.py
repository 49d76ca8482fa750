"""The viewer window: source picker, playback controls, threshold, model/device, snapshot, recording.

The window's thread only paints and reacts. Building a detector, opening or closing a source and
encoding a recording run on worker objects in their own threads (``gui.workers``) and answer by
signals; detection results arrive through a queued, coalesced signal from the detection thread (the
newest result wins, nothing queues). So ``open_source``, ``set_weights`` and ``set_device`` return
at once: wait on ``source_opened`` / ``source_failed`` and ``model_ready`` / ``model_failed``.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from dataclasses import replace

from PyQt6.QtCore import QCoreApplication, Qt, QTimer, pyqtSignal
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

from core.inference import Detector, available_devices
from gui.video_view import VideoView
from gui.workers import (
    DetectorFactory,
    ModelRequest,
    ModelWorker,
    OpenRequest,
    RecordWorker,
    ResultSignal,
    SourceWorker,
    start_in_thread,
    stop_thread,
)
from sshvideo.live import LiveSession, LiveTracks
from sshvideo.samples import SAMPLE_CLIP
from sshvideo.sources import SourceKind, list_cameras
from sshvideo.worker import Result

log = logging.getLogger(__name__)

__all__ = ["SAMPLE_CLIP", "DetectorFactory", "MainWindow"]

SLIDER_STEPS = 100
MAX_RECORD_IN_FLIGHT = 8  # frames handed to the encoder and not written yet; beyond it frames are skipped
THREAD_STOP_MS = 5000  # each worker's current step is bounded (open polls its cancel event, stops join ≤ 0.5 s)


class MainWindow(QMainWindow):
    """Signals: ``frame_shown(index)`` after painting each new result, ``ended(reason)`` when the source
    stops, ``source_opened(StreamInfo)`` / ``source_failed(message)``, ``model_ready()`` /
    ``model_failed(message)``, ``recording_finished(path)`` / ``recording_failed(message)``."""

    frame_shown = pyqtSignal(int)
    ended = pyqtSignal(str)
    source_opened = pyqtSignal(object)
    source_failed = pyqtSignal(str)
    model_ready = pyqtSignal()
    model_failed = pyqtSignal(str)
    recording_finished = pyqtSignal(str)
    recording_failed = pyqtSignal(str)

    # requests to the workers (queued: the workers live in other threads)
    _load_model = pyqtSignal(object)
    _open = pyqtSignal(object)
    _close = pyqtSignal(object)
    _record_begin = pyqtSignal(str, object)
    _record_frame = pyqtSignal(object, float, bool)
    _record_finish = pyqtSignal()

    def __init__(self, detector_factory: DetectorFactory, *, weights: str | None = None, device: str = "auto",
                 threshold: float = 0.5, camera_options: dict | None = None):
        super().__init__()
        self.setWindowTitle("sshvideo")
        self.resize(1100, 720)
        self.weights, self.device_name = weights, device
        self.detector: Detector | None = None
        self.session: LiveSession | None = None
        self.tracks: LiveTracks | None = None  # the open source's faces as tracks (ids, distinct count)
        self._ended_session: LiveSession | None = None  # kept after the end so its stats stay readable
        self.source_text: str | None = None
        self.recording = False
        self.record_path: Path | None = None
        self.frames_shown = 0
        self._last_time = 0.0
        self._seeking = False
        self._pending_seek: float | None = None  # asked for while the file was (re)opening
        self._open_generation = 0
        self._open_request: OpenRequest | None = None
        self._model_generation = 0
        self._model_loading = False
        self._record_in_flight = 0
        self._shut_down = False
        self.camera_options = camera_options or {}  # size / fps / pixel_format for parse_source
        self._build_ui(threshold)
        self._start_workers(detector_factory)
        self._status_timer = QTimer(self, interval=500, timeout=self._update_status)
        self._status_timer.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._shutdown)  # app.quit() with the window still open
        self._request_model(weights, device)

    def _start_workers(self, factory: DetectorFactory) -> None:
        """One thread each for the model, the sources and the recorder; answers come back queued."""
        self._results = ResultSignal(self)
        self._results.ready.connect(self._drain)
        self._model_worker = ModelWorker(factory)
        self._model_thread = start_in_thread(self._model_worker, "sshvideo-model")
        self._model_worker.loaded.connect(self._model_loaded)
        self._model_worker.failed.connect(self._model_load_failed)
        self._load_model.connect(self._model_worker.load)
        self._source_worker = SourceWorker()
        self._source_thread = start_in_thread(self._source_worker, "sshvideo-sources")
        self._source_worker.opened.connect(self._source_opened)
        self._source_worker.failed.connect(self._source_open_failed)
        self._open.connect(self._source_worker.open)
        self._close.connect(self._source_worker.close)
        self._record_worker = RecordWorker()
        self._record_thread = start_in_thread(self._record_worker, "sshvideo-recorder")
        self._record_worker.written.connect(self._record_written)
        self._record_worker.finished.connect(self._recording_closed)
        self._record_worker.failed.connect(self._recording_broke)
        self._record_begin.connect(self._record_worker.begin)
        self._record_frame.connect(self._record_worker.write)
        self._record_finish.connect(self._record_worker.finish)

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
        devices = ["auto", *available_devices()]
        self.device_box.addItems(devices)
        self.device_box.setCurrentText(self.device_name if self.device_name in devices else "auto")
        self.device_box.currentTextChanged.connect(self.set_device)
        bar.addWidget(QLabel(" Device ", self))
        bar.addWidget(self.device_box)
        scores = self._action(bar, "Scores", "S", self._toggle_scores)
        scores.setCheckable(True)
        scores.setChecked(True)
        self.ids_action = self._action(bar, "Ids", "I", self._toggle_ids)
        self.ids_action.setCheckable(True)
        self.ids_action.setChecked(True)
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
    def _request_model(self, weights: str | None, device: str) -> None:
        """Ask the model thread for a detector; only the answer to the newest request is used."""
        self._model_generation += 1
        self._model_loading = True
        self._load_model.emit(ModelRequest(self._model_generation, weights, device))

    def set_weights(self, path: str | None) -> None:
        """Load other weights; the current model stays in use until they are ready (``model_ready``)
        or keeps being used if they fail (``model_failed``, the reason in the banner)."""
        self._request_model(path, self.device_name)

    def set_device(self, device: str) -> None:
        """Move to another device, as ``set_weights``; on failure the device box shows the old one again."""
        self._request_model(self.weights, device)

    def _model_loaded(self, generation: int, detector: Detector, weights: str | None, device: str) -> None:
        if generation != self._model_generation or self._shut_down:
            return  # superseded by a newer request
        self._model_loading = False
        self.detector, self.weights, self.device_name = detector, weights, device
        self._show_device(device)
        if self.banner.text().startswith("Model not loaded"):
            self.clear_error()
        self.model_ready.emit()
        self._restart_source()  # the new model takes over the source (or opens the one that waited)

    def _model_load_failed(self, generation: int, message: str) -> None:
        if generation != self._model_generation or self._shut_down:
            return
        self._model_loading = False
        self._show_device(self.device_name)
        self.show_error(f"Model not loaded: {message}")
        if self.detector is None:
            self.view.clear("No model loaded: choose weights (Ctrl+W).")
        self.model_failed.emit(message)

    def _show_device(self, device: str) -> None:
        self.device_box.blockSignals(True)
        self.device_box.setCurrentText(device)
        self.device_box.blockSignals(False)

    # -- source ------------------------------------------------------------------------------------
    def open_source(self, text: str) -> bool:
        """Start opening a camera index/name, file or URL and return at once.

        ``source_opened`` follows when the first frame is decoded, ``source_failed`` (reason in the
        banner) otherwise. A newer call supersedes an open still under way: that one is cancelled,
        and closed if it answers anyway. While the model is loading, the source opens once it is
        ready. Returns False only when nothing can be opened: no model and none loading.
        """
        self.close_source()
        self.source_text = text
        if self.detector is None:
            if self._model_loading:
                self.view.clear(f"Loading the model… then {text}")
                return True
            self.view.clear("No model loaded: choose weights (Ctrl+W).")
            return False
        self._open_generation += 1
        self._open_request = OpenRequest(self._open_generation, text, self.detector, dict(self.camera_options),
                                         self._results.notify)
        self.view.clear(f"Opening {text}…")
        self._open.emit(self._open_request)
        return True

    def _cancel_open(self) -> None:
        """Abandon an open under way: its worker gives up soon; an answer that still comes is closed."""
        if self._open_request is not None:
            self._open_request.cancel.set()
            self._open_request = None
        self._open_generation += 1

    def _source_opened(self, generation: int, session: LiveSession) -> None:
        if generation != self._open_generation or self._shut_down:
            self._discard(session)  # a stale answer: the user has moved on
            return
        self._open_request = None
        self.session = session
        self.clear_error()
        self.play_action.setText("Pause")
        self.seek_slider.setEnabled(session.spec.kind is SourceKind.FILE and bool(session.info.duration))
        self.view.message = ""
        info = session.info
        self.tracks = LiveTracks(self.view.threshold, info.fps, (info.width, info.height))
        if self._pending_seek is not None:
            session.seek(self._pending_seek)
            self._pending_seek = None
        self.source_opened.emit(session.info)
        self._drain()  # a result may have arrived before the session was ours

    def _source_open_failed(self, generation: int, message: str) -> None:
        if generation != self._open_generation or self._shut_down:
            return
        self._open_request = None
        self.view.clear(f"Cannot open {self.source_text}")
        self.show_error(message)
        if self.isVisible():
            self.source_box.showPopup()  # offer another source right away
        self.source_failed.emit(message)

    def _discard(self, session: LiveSession) -> None:
        """Close a session on the source thread (the window does not wait for its threads to join)."""
        if self._source_thread.isRunning():
            self._close.emit(session)
        else:  # shutting down: the worker's ``stop_all`` has run or will not run again
            session.stop(timeout=0.2)

    def close_source(self) -> None:
        self.stop_recording()
        self._cancel_open()
        self._pending_seek = None
        if self.session is not None:
            session, self.session = self.session, None
            self._discard(session)

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
            if self.source_text and self._open_request is None:
                self.open_source(self.source_text)
            return
        if self.session.ended is not None and self.session.spec.kind is SourceKind.FILE:
            self.open_source(self.source_text)  # replay a finished file
            return
        paused = not self.session.capture.paused
        self.session.pause(paused)
        self.play_action.setText("Play" if paused else "Pause")

    def seek(self, seconds: float) -> None:
        """Files only. A file that has ended is reopened and the seek applied once it is open."""
        if self.session is None:
            if self._open_request is not None:
                self._pending_seek = seconds
            return
        if self.session.spec.kind is not SourceKind.FILE:
            return
        if self.session.ended is not None:
            self.open_source(self.source_text)
            self._pending_seek = seconds
            return
        self.session.seek(seconds)
        if self.tracks is not None:
            self.tracks.reset()  # the frames after a seek are no continuation of those before

    def seek_relative(self, delta: float) -> None:
        self.seek(max(0.0, self._last_time + delta))

    def _seek_released(self):
        self._seeking = False
        if self.session is not None and self.session.info and self.session.info.duration:
            self.seek(self.seek_slider.value() / 1000 * self.session.info.duration)

    def _threshold_changed(self, value: int):
        self.view.set_threshold(value / SLIDER_STEPS)
        self.threshold_label.setText(f"{value / SLIDER_STEPS:.2f}")
        if self.tracks is not None:
            self.tracks.set_threshold(value / SLIDER_STEPS)

    def _toggle_scores(self, checked: bool):
        self.view.show_scores = checked
        self.view.update()

    def _toggle_ids(self, checked: bool):
        self.view.show_ids = checked
        self.view.update()

    # -- frames ------------------------------------------------------------------------------------
    def _drain(self) -> None:
        """Woken by the detection thread: paint the newest result, or handle the end of the source."""
        self._results.taken()
        if self.session is None:
            return
        result = self.session.poll()
        if result is not None:
            self._show(result)
            if self.session is not None and self.session.results.closed is not None:
                self._results.notify()  # its end was announced with this frame: come back for it
        elif self.session.ended is not None:
            self._source_ended()

    def _show(self, result: Result) -> None:
        self._last_time = result.frame.time
        tracks = self.tracks.update(result) if self.tracks is not None else None
        self.view.set_frame(result.frame.image, result.detections, tracks,
                            self.tracks.threshold if self.tracks is not None else None)
        self.frames_shown += 1
        if self.recording:
            self._send_to_recorder(result)
        info = self.session.info
        if info and info.duration and not self._seeking:
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(int(1000 * min(1.0, (result.frame.time - info.start_time) / info.duration)))
            self.seek_slider.blockSignals(False)
        self.time_label.setText(f"{int(result.frame.time // 60):02d}:{result.frame.time % 60:05.2f}")
        self.frame_shown.emit(result.frame.index)

    def _source_ended(self) -> None:
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
        self._discard(session)
        self._ended_session = session
        self.ended.emit(end.reason)

    def current_or_last_session(self) -> LiveSession | None:
        """The playing session, else the one that ended last (its stats stay readable), else None."""
        return self.session or self._ended_session

    def _update_status(self):
        session = self.current_or_last_session()
        device = self.detector.runs_on if self.detector else "-"
        if session is None or session.info is None:
            state = "loading the model" if self._model_loading else "opening" if self._open_request else "no source"
            self.status_label.setText(f"{state}   device {device}")
            return
        s, info = session.stats(), session.info
        rec = "   ● REC" if self.recording else ""
        self.status_label.setText(
            f"{session.spec.label}   {info.width}×{info.height}   {self._faces_text()}   "
            f"display {s.display_fps:.1f} fps   detector {s.detector_fps:.1f} fps   latency {s.latency_ms:.0f} ms   "
            f"dropped {s.dropped}   device {device}{rec}")

    def _faces_text(self) -> str:
        """"faces 2 (5 distinct)": on the frame shown, and distinct tracks so far in this source."""
        shown = self.view.visible_detections()
        now = f"faces {len(shown) if shown is not None else 0}"
        return now if self.tracks is None else f"{now} ({self.tracks.distinct_faces} distinct)"

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
        """Record the shown frames with their boxes (encoded on the recorder thread)."""
        if self.session is None or self.session.info is None:
            raise RuntimeError("nothing to record: no source is open")
        self.stop_recording()
        self.record_path = Path(path)
        self.recording = True
        self._record_begin.emit(str(self.record_path), self.session.info)
        self.record_action.setText("Stop recording")

    def _send_to_recorder(self, result: Result) -> None:
        """Skip the frame when the encoder is behind, rather than queue frames without bound."""
        if self._record_in_flight >= MAX_RECORD_IN_FLIGHT:
            log.debug("recorder behind: frame %d not recorded", result.frame.index)
            return
        self._record_in_flight += 1
        # the boxes on screen (tracks included); threshold 0: they are already the ones to show
        shown = replace(result, detections=self.view.visible_detections())
        self._record_frame.emit(shown, 0.0, self.view.show_scores)

    def _record_written(self) -> None:
        self._record_in_flight = max(0, self._record_in_flight - 1)

    def stop_recording(self) -> None:
        """Ask the recorder to close the file; ``recording_finished`` follows once it is complete."""
        if not self.recording:
            return
        self.recording = False
        self.record_action.setText("Record")
        self._record_finish.emit()

    def _recording_closed(self, path: str) -> None:
        if path:
            self.status.showMessage(f"recorded {path}", 4000)
        self.recording_finished.emit(path)

    def _recording_broke(self, message: str) -> None:
        self.show_error(message)
        if self.recording:
            self.recording = False
            self.record_action.setText("Record")
        self.recording_failed.emit(message)

    def _toggle_record_dialog(self):
        if self.recording:
            self.stop_recording()
            return
        default = str(Path.cwd() / time.strftime("sshvideo_%Y%m%d_%H%M%S.mp4"))
        path, _ = QFileDialog.getSaveFileName(self, "Record to", default, "MP4 (*.mp4)")
        if path:
            try:
                self.start_recording(path)
            except RuntimeError as exc:
                self.show_error(str(exc))

    # -- shutdown ----------------------------------------------------------------------------------
    def closeEvent(self, event):
        self._shutdown()
        super().closeEvent(event)

    def _shutdown(self) -> None:
        """Stop every thread this window started, once; bounded because each worker step is bounded.

        The recorder is finished after its thread has stopped (frames still queued for it are
        dropped, what was written is finalised); the source worker then stops every session it
        started, including one whose "opened" answer had not reached the window yet. A model load
        under way is waited for: a ``QThread`` must not be destroyed while it runs.
        """
        if self._shut_down:
            return
        self._shut_down = True
        self._status_timer.stop()
        self._cancel_open()
        recording, self.recording = self.recording, False
        self.session = None
        for thread in (self._source_thread, self._record_thread, self._model_thread):
            stop_thread(thread, THREAD_STOP_MS)
        if recording:
            self._record_worker.finish()
        self._source_worker.stop_all()
