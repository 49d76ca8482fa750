"""The detection worker thread: owns the Detector, batches frames, reports throughput and latency."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from core.inference import Detections, Detector
from sshvideo.capture import Frame
from sshvideo.handoff import BoundedQueue, EndOfStream, LatestSlot

log = logging.getLogger(__name__)


@dataclass
class Result:
    """A frame with the faces found in it (``detected`` is False when it reused an earlier frame's boxes)."""

    frame: Frame
    detections: Detections
    detected: bool
    latency_ms: float  # from decode to result


@dataclass
class WorkerStats:
    frames: int = 0
    detected_frames: int = 0
    detect_seconds: float = 0.0
    fps: float = 0.0  # results per second, exponential moving average
    latency_ms: float = 0.0
    detect_ms: float = 0.0  # per detected frame, exponential moving average (ignores the warm-up)

    @property
    def detector_fps(self) -> float:
        """Frames the detector alone can take per second, from recent batches."""
        return 1000.0 / self.detect_ms if self.detect_ms else 0.0


class DetectWorker:
    """Take frames from ``frames``, detect, put ``Result``s into ``results``.

    Args:
        batch_size: frames per forward pass; frames already waiting in a file queue are batched.
        every: run the detector on every N-th frame (by frame index); the others reuse the last boxes.
        results: a ``BoundedQueue`` (files: nothing lost) or a ``LatestSlot`` (live display).
    The worker closes ``results`` with the capture's end reason, or with the detector's error.
    """

    def __init__(self, detector: Detector, frames: BoundedQueue | LatestSlot, results: BoundedQueue | LatestSlot,
                 *, batch_size: int = 1, every: int = 1):
        if batch_size < 1 or every < 1:
            raise ValueError("batch_size and every must be at least 1")
        self.detector = detector
        self.frames, self.results = frames, results
        self.batch_size, self.every = batch_size, every
        self.stats = WorkerStats()
        self._last = Detections(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))
        self._last_result_time: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="detect-worker", daemon=True)

    def start(self) -> "DetectWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.results.close("stopped")
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self):
        try:
            while not self._stop.is_set():
                try:
                    first = self.frames.get(timeout=0.1)
                except TimeoutError:
                    continue
                batch = [first] + self.frames.get_nowait_many(self.batch_size - 1)
                self._process(batch)
        except EndOfStream as end:
            self.results.close(end.reason, end.error)
        except Exception as exc:  # the detector failed: end the pipeline with the reason
            log.exception("detection failed")
            self.results.close(f"detector failed: {type(exc).__name__}: {exc}", exc)

    def _process(self, batch: list[Frame]):
        to_detect = [f for f in batch if f.index % self.every == 0]
        found = {}
        if to_detect:
            t0 = time.perf_counter()
            for frame, dets in zip(to_detect, self.detector.detect([f.image for f in to_detect])):
                found[id(frame)] = dets
            elapsed = time.perf_counter() - t0
            per_frame_ms = 1000 * elapsed / len(to_detect)
            s = self.stats
            # the first batch includes graph tracing/warm-up: it seeds the average only if nothing else will
            s.detect_ms = per_frame_ms if s.detected_frames <= len(to_detect) else 0.8 * s.detect_ms + 0.2 * per_frame_ms
            s.detect_seconds += elapsed
            s.detected_frames += len(to_detect)
        for frame in batch:
            dets = found.get(id(frame))
            if dets is not None:
                self._last = dets
            now = time.perf_counter()
            result = Result(frame, self._last, dets is not None, (now - frame.decoded_at) * 1000)
            self._update_stats(result, now)
            while not self._stop.is_set():
                try:
                    if not self.results.put(result, timeout=0.1):
                        return
                    break
                except TimeoutError:
                    continue

    def _update_stats(self, result: Result, now: float):
        s = self.stats
        if self._last_result_time is not None:
            dt = max(1e-6, now - self._last_result_time)
            s.fps = 1 / dt if s.fps == 0 else 0.9 * s.fps + 0.1 / dt
        self._last_result_time = now
        s.latency_ms = result.latency_ms if s.frames == 0 else 0.9 * s.latency_ms + 0.1 * result.latency_ms
        s.frames += 1
