"""The capture thread: decodes one source with PyAV and hands frames to the next stage.

Live sources (cameras, streams, lavfi) go through a one-slot ``LatestSlot`` (the newest frame wins,
overwritten frames are counted as dropped); files through a ``BoundedQueue`` (in order, nothing
dropped). Every frame carries its decode index and presentation time; rotation metadata is applied
so frames are upright. The container is opened, read and closed in the capture thread only.
"""
from __future__ import annotations

import errno
import logging
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from core.errors import SshvideoError
from sshvideo.handoff import BoundedQueue, LatestSlot
from sshvideo.sources import SourceKind, SourceSpec, list_cameras, parse_source

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_BAD_PACKETS = 32


class SourceError(SshvideoError):
    """A source could not be opened or failed while reading; the message names it."""


@dataclass
class Frame:
    """One decoded frame. ``image`` is RGB uint8 (H, W, 3), upright; ``time`` in seconds."""

    index: int
    time: float
    pts: int | None
    image: np.ndarray
    decoded_at: float  # time.perf_counter() when decoded, for latency


@dataclass(frozen=True)
class StreamInfo:
    width: int  # upright frame size
    height: int
    fps: float | None  # average frame rate, if known
    time_base: Fraction
    duration: float | None  # seconds, if known
    frames: int | None  # frame count from the container, if known
    rotation: int  # degrees counter-clockwise applied to decoded frames
    codec: str
    start_time: float  # seconds of the first frame's timestamp


def _fraction(value) -> Fraction | None:
    """AVRational (PyAV ≥ 18.1, falsy when unset) or Fraction -> Fraction or None."""
    if not value:
        return None
    return Fraction(value.numerator, value.denominator)


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate by ``rotation`` degrees counter-clockwise (FFmpeg's display-matrix convention)."""
    k = (round(rotation / 90)) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def describe_open_error(spec: SourceSpec, exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if spec.kind is SourceKind.CAMERA:
        if code == errno.EBUSY:
            return f"camera {spec.label}: in use by another application"
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or isinstance(exc, FileNotFoundError):
            found = ", ".join(f"{c.source} ({c.name})" for c in list_cameras()) or "none"
            return f"camera {spec.label}: not found (cameras on this system: {found})"
        return f"camera {spec.label}: cannot open ({exc}); try another --size, --fps or pixel format"
    if spec.kind is SourceKind.FILE and isinstance(exc, FileNotFoundError):
        return f"{spec.label}: no such file"
    return f"{spec.label}: cannot open as video ({type(exc).__name__}: {exc})"


class Capture:
    """Decode ``spec`` on a background thread.

    Args:
        queue_size: capacity of the file queue (back-pressure beyond it).
        realtime: pace file frames to their timestamps (viewer); False decodes as fast as consumed.
        latest_only: hand over through a one-slot mailbox (default: for live sources only).
        start, end: seconds; decoding starts at the keyframe before ``start`` and drops earlier frames.
        frame_threads: decoder threads; frame threading (faster, adds delay) is used for files only.
    """

    def __init__(self, spec: SourceSpec | str, *, queue_size: int = 8, realtime: bool = False,
                 start: float | None = None, end: float | None = None, open_timeout: float = 10.0,
                 read_timeout: float = 5.0, frame_threads: int = 2, latest_only: bool | None = None):
        self.spec = parse_source(spec) if isinstance(spec, str) else spec
        self.live = self.spec.kind.is_live
        latest_only = self.live if latest_only is None else latest_only  # the viewer plays files this way too
        self.frames = LatestSlot() if latest_only else BoundedQueue(queue_size)
        self.realtime = realtime and not self.live
        self.start_time, self.end_time = start, end
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.frame_threads = frame_threads
        self.info: StreamInfo | None = None
        self.error: BaseException | None = None
        self.bad_packets = 0
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._seek_lock = threading.Lock()
        self._pending_seek: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"capture:{self.spec.label}", daemon=True)

    # -- control ---------------------------------------------------------------------------------
    def start(self, wait: bool = True) -> "Capture":
        """Start decoding; with ``wait`` block until the source is open and raise ``SourceError`` if not."""
        self._thread.start()
        if wait:
            self.wait_open()
        return self

    def wait_open(self, timeout: float | None = None) -> StreamInfo:
        timeout = timeout if timeout is not None else self.open_timeout + 5
        if not self._opened.wait(timeout):
            raise SourceError(f"{self.spec.label}: no answer within {timeout:.0f} s")
        if self.info is None:
            raise SourceError(str(self.error)) from self.error
        return self.info

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish and wait for it (the PyAV read timeout bounds the wait)."""
        self._stop.set()
        self._resume.set()
        self.frames.close("stopped")
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def pause(self, paused: bool) -> None:
        (self._resume.clear if paused else self._resume.set)()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def seek(self, seconds: float) -> None:
        """Files only: continue from the first frame at or after ``seconds``."""
        if self.live:
            raise ValueError("cannot seek in a live source")
        with self._seek_lock:
            self._pending_seek = max(0.0, float(seconds))
        self.frames.drain()

    # -- thread body ---------------------------------------------------------------------------------
    def _open(self):
        import av

        kwargs = {"format": self.spec.format, "options": dict(self.spec.options)}
        if self.live:
            kwargs["timeout"] = (self.open_timeout, self.read_timeout)
        try:
            container = av.open(self.spec.url, **kwargs)
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(describe_open_error(self.spec, exc)) from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.spec.label}: has no video stream")
        stream = container.streams.video[0]
        if not self.live:
            stream.thread_type = "AUTO"  # frame + slice threads; thread_count set explicitly (PyAV#1962)
            stream.thread_count = self.frame_threads
        return container, stream

    def _stream_info(self, stream, first_rotation: int) -> StreamInfo:
        tb = _fraction(stream.time_base) or Fraction(1, 1000)
        rate = _fraction(stream.average_rate) or _fraction(stream.guessed_rate)
        duration = float(stream.duration * tb) if stream.duration else None
        if duration is None and stream.container.duration:
            duration = stream.container.duration / 1_000_000
        w, h = stream.codec_context.width, stream.codec_context.height
        if round(first_rotation / 90) % 2:
            w, h = h, w
        start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
        return StreamInfo(w, h, float(rate) if rate else None, tb, duration, stream.frames or None, first_rotation,
                          stream.codec_context.name, start)

    def _run(self):
        import av

        container = None
        try:
            container, stream = self._open()
            self._decode_loop(av, container, stream)
            self.frames.close("stopped" if self._stop.is_set() else "end of stream")
        except SourceError as exc:
            self.error = exc
            self.frames.close(str(exc), exc)
        except Exception as exc:  # decode errors, vanished devices: end the pipeline with a reason
            self.error = SourceError(f"{self.spec.label}: {type(exc).__name__}: {exc}")
            self.frames.close(str(self.error), self.error)
        finally:
            self._opened.set()
            if container is not None:
                container.close()

    def _decode_loop(self, av, container, stream):
        tb = _fraction(stream.time_base) or Fraction(1, 1000)
        index = 0
        fps_guess = None
        skip_before = None
        if self.start_time:
            self._seek_container(container, stream, self.start_time, tb)
            skip_before = self.start_time
            index = None  # frame indices after a seek are derived from timestamps (exact for constant rate)
        packets = container.demux(stream)
        consecutive_bad = 0
        wall0 = media0 = None
        while not self._stop.is_set():
            with self._seek_lock:
                target, self._pending_seek = self._pending_seek, None
            if target is not None:
                self._seek_container(container, stream, target, tb)
                packets = container.demux(stream)
                skip_before, wall0 = target, None
                index = None  # re-derived from the timestamp below
            try:
                packet = next(packets)
            except StopIteration:
                return
            try:
                decoded = packet.decode()
                consecutive_bad = 0
            except av.InvalidDataError as exc:
                self.bad_packets += 1
                consecutive_bad += 1
                log.warning("%s: skipped a damaged packet (%s)", self.spec.label, exc)
                if consecutive_bad > MAX_CONSECUTIVE_BAD_PACKETS:
                    raise SourceError(f"{self.spec.label}: too many damaged packets in a row "
                                      f"({consecutive_bad})") from exc
                continue
            for vf in decoded:
                if self.info is None:
                    self.info = self._stream_info(stream, int(getattr(vf, "rotation", 0) or 0))
                    fps_guess = self.info.fps
                    self._opened.set()
                t = float(vf.pts * tb) if vf.pts is not None else (index or 0) / (fps_guess or 30.0)
                if index is None:
                    index = round((t - self.info.start_time) * (fps_guess or 30.0))
                if skip_before is not None and t < skip_before - 1e-6:
                    index += 1
                    continue
                skip_before = None
                if self.end_time is not None and t > self.end_time + 1e-6:
                    return
                image = upright(vf.to_ndarray(format="rgb24"), self.info.rotation)
                frame = Frame(index, t, vf.pts, image, time.perf_counter())
                index += 1
                if self.realtime:
                    now = time.perf_counter()
                    if wall0 is None:
                        wall0, media0 = now, t
                    delay = (t - media0) - (now - wall0)
                    if delay > 0:
                        self._stop.wait(min(delay, 1.0))
                if not self._resume.is_set():
                    self._resume.wait()
                    wall0 = None
                if self._stop.is_set():
                    return
                if not self._put(frame):
                    return

    def _put(self, frame: Frame) -> bool:
        while not self._stop.is_set():
            try:
                return self.frames.put(frame, timeout=0.1)
            except TimeoutError:
                continue
        return False

    def _seek_container(self, container, stream, seconds: float, tb: Fraction) -> None:
        container.seek(int(seconds / tb), stream=stream, backward=True, any_frame=False)
