"""A live detection session: one source, its capture thread and a detection worker, newest result wins.

Used by the viewer (and usable from any front end): ``poll()`` returns the newest ``Result`` (a frame
together with the boxes found in it) or None, never blocking and never queueing. A front end that
must not poll passes ``on_update``: it is called from the detection thread whenever a new result (or
the end of the stream) is waiting, so an event loop can be woken instead of spinning a timer.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.inference import Detector
from sshvideo.capture import Capture, SourceError, StreamInfo
from sshvideo.handoff import EndOfStream, LatestSlot
from sshvideo.sources import SourceSpec
from sshvideo.worker import DetectWorker, Result

OPEN_POLL_SECONDS = 0.05  # how quickly a cancelled open notices


class OpenCancelled(Exception):
    """``LiveSession.start`` gave up because its ``cancel`` event was set (the user chose another source)."""


@dataclass
class SessionStats:
    display_fps: float
    detector_fps: float
    latency_ms: float
    dropped: int  # frames the detector never saw (newest frame wins)


class _NotifyingSlot(LatestSlot):
    """A ``LatestSlot`` that calls ``listener`` after each put and on close.

    The listener runs on the producer's thread; it must be cheap and thread-safe (e.g. emit a Qt signal).
    """

    def __init__(self, listener: Callable[[], None]):
        super().__init__()
        self._listener = listener

    def put(self, item, timeout: float | None = None) -> bool:
        stored = super().put(item, timeout)
        if stored:
            self._listener()
        return stored

    def close(self, reason: str = "end of stream", error: BaseException | None = None) -> None:
        super().close(reason, error)
        self._listener()


class LiveSession:
    def __init__(self, spec: SourceSpec, detector: Detector, *, realtime: bool = True,
                 on_update: Callable[[], None] | None = None):
        self.spec = spec
        self.capture = Capture(spec, realtime=realtime, latest_only=True, frame_threads=1)
        self.results: LatestSlot = _NotifyingSlot(on_update) if on_update is not None else LatestSlot()
        self.worker = DetectWorker(detector, self.capture.frames, self.results)
        self.ended: EndOfStream | None = None
        self._shown = 0
        self._shown_since = time.perf_counter()
        self._display_fps = 0.0

    def start(self, cancel: threading.Event | None = None) -> StreamInfo:
        """Open the source and start decoding and detecting; return once the first frame is decoded.

        Raises ``SourceError`` when the source fails or gives no frame within the capture's open
        timeout (+5 s), and ``OpenCancelled`` soon after ``cancel`` is set; either way the session is
        stopped first. The wait is a short poll so that a source that never answers can be abandoned.
        """
        self.capture.start(wait=False)
        self.worker.start()
        deadline = time.monotonic() + self.capture.open_timeout + 5
        cancel = cancel or threading.Event()
        while True:
            running = self.capture.running  # read first: once the thread is gone, info and error are final
            info, error = self.capture.info, self.capture.error
            if info is not None:
                return info
            if error is not None or not running:
                self.stop(timeout=0.5)
                raise SourceError(str(error) if error else f"{self.spec.label}: ended before its first frame")
            if time.monotonic() > deadline:
                self.stop(timeout=0.2)
                raise SourceError(f"{self.spec.label}: no answer within {self.capture.open_timeout + 5:.0f} s")
            if cancel.wait(OPEN_POLL_SECONDS):
                self.stop(timeout=0.2)
                raise OpenCancelled(self.spec.label)

    @property
    def info(self) -> StreamInfo | None:
        return self.capture.info

    def poll(self) -> Result | None:
        """The newest result since the last call, or None. Sets ``ended`` when the pipeline finished."""
        if self.ended is not None:
            return None
        try:
            result = self.results.get(timeout=0)
        except TimeoutError:
            return None
        except EndOfStream as end:
            self.ended = end
            return None
        self._count_display()
        return result

    def _count_display(self):
        self._shown += 1
        now = time.perf_counter()
        if now - self._shown_since >= 1.0:
            self._display_fps = self._shown / (now - self._shown_since)
            self._shown, self._shown_since = 0, now

    def stats(self) -> SessionStats:
        w = self.worker.stats
        return SessionStats(self._display_fps, w.detector_fps, w.latency_ms, self.capture.frames.dropped)

    def pause(self, paused: bool) -> None:
        self.capture.pause(paused)

    def seek(self, seconds: float) -> None:
        self.capture.seek(seconds)

    def stop(self, timeout: float = 1.0) -> None:
        self.worker.stop(timeout)
        self.capture.stop(timeout)

    @property
    def running(self) -> bool:
        return self.worker.running or self.capture.running
