"""Worker objects that keep slow work off the UI thread; each lives in its own ``QThread``.

The window talks to them only through queued signals and hears back only through their signals, so
its thread never waits on a model file, a camera, a network stream or a video encoder:

- ``ModelWorker`` builds detectors (reading a checkpoint, tracing a graph, starting ONNX Runtime).
- ``SourceWorker`` opens and closes ``LiveSession``s (an open can wait up to 15 s on a slow camera
  or URL; an open that the window no longer wants is cancelled through its ``threading.Event``).
- ``RecordWorker`` draws the boxes and encodes the recording.
- ``ResultSignal`` turns "the detection thread has a new result" into one queued Qt signal, coalesced
  so that the event queue never holds more than one wake-up: the newest result wins, as in the slot.

Every request carries a generation number chosen by the window; answers repeat it so that the window
can ignore (and close) what it asked for before its latest request. A worker never lets an exception
escape a slot (PyQt aborts the process on those); it reports it through its ``failed`` signal.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from core.errors import SshvideoError
from core.inference import Detector
from sshvideo.capture import SourceError, StreamInfo
from sshvideo.live import LiveSession, OpenCancelled
from sshvideo.render import draw_boxes
from sshvideo.sources import parse_source

log = logging.getLogger(__name__)

DetectorFactory = Callable[[str | None, str], Detector]  # (weights or None, device) -> Detector
STOP_TIMEOUT_S = 0.5  # per thread of a session being closed; PyAV's read timeout bounds the rest


def describe(exc: BaseException) -> str:
    """A one-line message for the banner; our own errors already name what failed."""
    return str(exc) if isinstance(exc, (SshvideoError, ValueError, OSError)) else f"{type(exc).__name__}: {exc}"


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a new, started ``QThread`` named ``name`` (visible in debuggers and ``ps -L``).

    Connect to the worker's slots after this, and keep them decorated with ``pyqtSlot``: PyQt decides
    where an undecorated Python callable runs when it is connected, and it would then run on the
    thread that emits, i.e. block the window.
    """
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread, timeout_ms: int) -> None:
    """Quit the thread's event loop once its current step is done, and wait for it.

    Past ``timeout_ms`` it logs which thread is late and keeps waiting: Qt aborts the process when a
    running ``QThread`` is destroyed, and every step our workers take is bounded (a model load ends,
    an open polls its cancel event, a session stop joins with a timeout).
    """
    thread.quit()
    if not thread.wait(timeout_ms):
        log.error("thread %s still busy after %d ms; waiting for it to finish", thread.objectName(), timeout_ms)
        thread.wait()


class ResultSignal(QObject):
    """``notify()`` may be called from any thread; ``ready`` then reaches the UI thread once.

    A flag coalesces wake-ups: while one is pending, further notifications add nothing to the event
    queue (the receiver reads only the newest result anyway). The receiver calls ``taken()`` before
    reading, so a result that arrives while it reads triggers a fresh wake-up.
    """

    ready = pyqtSignal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pending = threading.Event()

    def notify(self) -> None:
        if not self._pending.is_set():
            self._pending.set()
            self.ready.emit()

    def taken(self) -> None:
        self._pending.clear()


# -- model -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRequest:
    generation: int
    weights: str | None
    device: str


class ModelWorker(QObject):
    """Builds a detector with the window's factory; answers ``loaded`` or ``failed``."""

    loaded = pyqtSignal(int, object, object, str)  # generation, Detector, weights (str or None), device
    failed = pyqtSignal(int, str)  # generation, message

    def __init__(self, factory: DetectorFactory):
        super().__init__()
        self._factory = factory

    @pyqtSlot(object)
    def load(self, request: ModelRequest) -> None:
        try:
            detector = self._factory(request.weights, request.device)
        except Exception as exc:  # bad checkpoint, absent device, broken runtime: a message in the window
            log.info("model not loaded", exc_info=True)
            self.failed.emit(request.generation, describe(exc))
            return
        self.loaded.emit(request.generation, detector, request.weights, request.device)


# -- sources ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenRequest:
    generation: int
    text: str
    detector: Detector
    camera_options: dict
    on_update: Callable[[], None]  # called from the detection thread when a result waits
    cancel: threading.Event = field(default_factory=threading.Event)


class SourceWorker(QObject):
    """Opens and closes sessions in order, so a camera is released before it is opened again.

    It remembers every session it started and has not closed yet: ``stop_all`` (called by the window
    after this worker's thread has finished) stops them, including one whose ``opened`` signal was
    still on its way to a window that is closing.
    """

    opened = pyqtSignal(int, object)  # generation, LiveSession (started, first frame decoded)
    failed = pyqtSignal(int, str)  # generation, message

    def __init__(self):
        super().__init__()
        self._live: set[LiveSession] = set()

    @pyqtSlot(object)
    def open(self, request: OpenRequest) -> None:
        if request.cancel.is_set():
            return
        session = None
        try:
            spec = parse_source(request.text, **request.camera_options)
            session = LiveSession(spec, request.detector, on_update=request.on_update)
            self._live.add(session)
            session.start(cancel=request.cancel)
        except OpenCancelled:
            self._live.discard(session)
            return
        except Exception as exc:  # unreadable file, refused connection, absent camera: a banner message
            self._live.discard(session)
            log.info("cannot open %s", request.text, exc_info=not isinstance(exc, (SourceError, ValueError)))
            self.failed.emit(request.generation, describe(exc))
            return
        self.opened.emit(request.generation, session)

    @pyqtSlot(object)
    def close(self, session: LiveSession) -> None:
        session.stop(timeout=STOP_TIMEOUT_S)
        self._live.discard(session)

    def stop_all(self) -> None:
        """Stop every session still running; only call it once this worker's thread has finished."""
        for session in list(self._live):
            self.close(session)


# -- recording -------------------------------------------------------------------------------------
class RecordWorker(QObject):
    """Draws and encodes recorded frames; the first frame written is at 0 s in the file.

    After a failure it ignores frames until the next ``begin``, so one error gives one message.
    """

    written = pyqtSignal()  # one per ``write`` call, written or not: the window counts frames in flight
    finished = pyqtSignal(str)  # the file closed ("" when no frame had arrived)
    failed = pyqtSignal(str)

    def __init__(self):
        super().__init__()
        self._path: Path | None = None
        self._info: StreamInfo | None = None
        self._writer = None
        self._broken = False

    @pyqtSlot(str, object)
    def begin(self, path: str, info: StreamInfo) -> None:
        self._path, self._info, self._writer, self._broken = Path(path), info, None, False

    @pyqtSlot(object, float, bool)
    def write(self, result, threshold: float, show_scores: bool) -> None:
        try:
            if self._path is None or self._broken:
                return
            if self._writer is None:  # timestamps count from the first recorded frame
                from sshvideo.video_writer import VideoWriter

                self._writer = VideoWriter(self._path, self._info, shift=result.frame.time)
            image = draw_boxes(result.frame.image, result.detections.above(threshold), show_scores)
            self._writer.write(image, result.frame.time)
        except Exception as exc:  # disk full, encoder failure: stop recording, keep viewing
            log.info("recording failed", exc_info=True)
            self._broken = True
            self._abandon()
            self.failed.emit(f"recording stopped: {describe(exc)}")
        finally:
            self.written.emit()

    @pyqtSlot()
    def finish(self) -> None:
        """Close the file; safe to call more than once."""
        writer, path = self._writer, self._path
        self._writer, self._path = None, None
        if writer is None:
            if path is not None and not self._broken:
                self.finished.emit("")
            return
        try:
            writer.close()
        except Exception as exc:  # a file that cannot be finalised is reported, not raised into Qt
            log.info("recording not finalised", exc_info=True)
            self.failed.emit(f"recording failed: {describe(exc)}")
            return
        self.finished.emit(str(path))

    def _abandon(self) -> None:
        """After a write error: close what can be closed; the error already reported is the one that matters."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception:
                log.debug("closing the broken recording failed too", exc_info=True)
