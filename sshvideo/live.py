"""A live detection session: one source, its capture thread and a detection worker, newest result wins.

Used by the viewer (and usable from any front end): ``poll()`` returns the newest ``Result`` (a frame
together with the boxes found in it) or None, never blocking and never queueing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from core.inference import Detector
from sshvideo.capture import Capture, StreamInfo
from sshvideo.handoff import EndOfStream, LatestSlot
from sshvideo.sources import SourceSpec
from sshvideo.worker import DetectWorker, Result


@dataclass
class SessionStats:
    display_fps: float
    detector_fps: float
    latency_ms: float
    dropped: int  # frames the detector never saw (newest frame wins)


class LiveSession:
    def __init__(self, spec: SourceSpec, detector: Detector, *, realtime: bool = True):
        self.spec = spec
        self.capture = Capture(spec, realtime=realtime, latest_only=True, frame_threads=1)
        self.results: LatestSlot = LatestSlot()
        self.worker = DetectWorker(detector, self.capture.frames, self.results)
        self.ended: EndOfStream | None = None
        self._shown = 0
        self._shown_since = time.perf_counter()
        self._display_fps = 0.0

    def start(self) -> StreamInfo:
        """Open the source (raises ``SourceError``) and start decoding and detecting."""
        self.capture.start()
        self.worker.start()
        return self.capture.info

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
