"""A live detection session: one source, its capture thread and a detection worker, newest result wins.

Used by the viewer (and usable from any front end): ``poll()`` returns the newest ``Result`` (a frame
together with the boxes found in it) or None, never blocking and never queueing. A front end that
must not poll passes ``on_update``: it is called from the detection thread whenever a new result (or
the end of the stream) is waiting, so an event loop can be woken instead of spinning a timer.
``LiveTracks`` turns the results shown into tracks (ids, boxes carried through misses, smoothing).
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
from sshvideo.tracking import Tracker, Tracks, TrackerSettings
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


class LiveTracks:
    """Faces as tracks for a live display, fed the results it shows (newest wins, so frames are skipped:
    the tracker takes the gaps in frame index as elapsed time).

    A frame index that does not follow the last one (a seek, a replay) ends the tracks as ``reset`` does;
    call ``reset`` on a seek anyway, so that frames after it are not predicted across the jump. Ids and
    ``distinct_faces`` count on across resets and threshold changes, for the whole source.
    """

    def __init__(self, threshold: float, fps: float | None = None, frame_size: tuple[int, int] | None = None):
        self.fps = fps
        self.threshold = threshold
        self.tracker = Tracker(TrackerSettings.for_video(threshold, fps), frame_size=frame_size)
        self._last_index: int | None = None

    @property
    def distinct_faces(self) -> int:
        return self.tracker.distinct_faces

    def set_threshold(self, threshold: float) -> None:
        """Track at another threshold from the next frame on (tracks restart, ids go on)."""
        if threshold != self.threshold:
            self.threshold = threshold
            self.tracker.retune(TrackerSettings.for_video(threshold, self.fps))
            self._last_index = None

    def reset(self) -> None:
        self.tracker.reset()
        self._last_index = None

    def update(self, result: Result) -> Tracks:
        """The tracks to show with ``result``'s frame (carried boxes only, if it was not detected)."""
        index = result.frame.index
        if self._last_index is not None and index <= self._last_index:
            self.tracker.reset()
        self._last_index = index
        if not result.detected:
            return self.tracker.predict_only(index)
        return self.tracker.update(result.detections.boxes, result.detections.scores, index)
