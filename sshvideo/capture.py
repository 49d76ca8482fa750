"""The capture thread: decodes one source with PyAV and hands frames to the next stage.

Live sources (cameras, streams, lavfi) go through a one-slot ``LatestSlot`` (the newest frame wins,
overwritten frames are counted as dropped); files through a ``BoundedQueue`` (in order, nothing
dropped). Every frame carries its frame number (from its timestamp where the stream has a constant
frame rate, see ``Frame``) and presentation time; rotation metadata is applied so frames are upright.
Damaged packets, frames missing from the timeline and duplicated timestamps are counted on the
``Capture``. The container is opened, read and closed in the capture thread only.
"""
from __future__ import annotations

import errno
import logging
import math
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
# A file is numbered by timestamps when its average frame rate is within these bounds of its base
# frame rate (FFmpeg's r_frame_rate, the rate its timestamps are on): at most 40 % of the frames missing.
CONSTANT_RATE_RATIO = (0.6, 1.01)
OFF_GRID = 0.3  # a timestamp further than this many frame steps from the grid ends timestamp numbering


class SourceError(SshvideoError):
    """A source could not be opened or failed while reading; the message names it."""


class TimeRangeError(SshvideoError, ValueError):
    """A start, end or seek time that is not a finite number of seconds ≥ 0, or an end not after the start."""


def check_time_range(start, end) -> tuple[float | None, float | None]:
    """``start`` and ``end`` (seconds or None) as floats; raises ``TimeRangeError`` unless each is finite
    and ≥ 0 and ``end`` is after ``start``."""
    def seconds(name, value):
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TimeRangeError(f"{name} must be a number of seconds, not {value!r}") from None
        if not math.isfinite(value) or value < 0:
            raise TimeRangeError(f"{name} must be a finite number of seconds ≥ 0, not {value:g}")
        return value

    start, end = seconds("start", start), seconds("end", end)
    if end is not None and end <= (start or 0.0):
        raise TimeRangeError(f"end ({end:g} s) must be after start ({start or 0:g} s)")
    return start, end


@dataclass
class Frame:
    """One decoded frame. ``image`` is RGB uint8 (H, W, 3), upright; ``time`` in seconds (its
    presentation timestamp).

    ``index`` is the frame number, the same for a frame whichever part of the file is decoded:

    * files with a constant frame rate (the average rate within ``CONSTANT_RATE_RATIO`` of FFmpeg's
      base rate, the rate the timestamps are on): the frame's slot on the timeline,
      ``round((time - stream start) · base rate)``, counted from one frame to the next so a base rate
      like 29.97 for a 30 fps file does not drift. A frame lost to damage leaves its number unused
      (``Capture.missing_frames`` counts such gaps), so later frames keep their numbers; a frame
      with the same timestamp as the one before it is dropped (``Capture.duplicate_frames``). On an
      intact file this is 0, 1, 2, … as in decode order.
    * files with a variable frame rate, or whose timestamps leave that grid (the rest of the file
      then continues in this mode, with a warning), or without timestamps: decode order, 0, 1, 2, …
      (after a seek: ``round((time - stream start) · average rate)``, then on from there). Gaps are
      not detectable there; ``missing_frames`` stays 0.
    * live sources (cameras, streams, lavfi): the count of frames received, 0, 1, 2, …; frames the
      consumer was too slow for are counted by ``Capture.frames.dropped``, not as missing.
    """

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
        start, end: seconds (finite, ≥ 0, end after start, else ``TimeRangeError``); decoding starts at
            the keyframe before ``start`` and drops earlier frames.
        open_timeout, read_timeout: seconds (live sources): opening, or a read, that takes longer
            fails with "timed out after N s".
        frame_threads: decoder threads; frame threading (faster, adds delay) is used for files only.

    Counters, read after the end (or any time): ``damaged_packets`` (packets the decoder refused and
    that were skipped), ``missing_frames`` (frame numbers absent between decoded frames, see
    ``Frame``), ``duplicate_frames`` (frames dropped for repeating the previous timestamp);
    ``frame_numbering`` says how frames are numbered ("timestamps", "decode order" or "arrival").
    """

    def __init__(self, spec: SourceSpec | str, *, queue_size: int = 8, realtime: bool = False,
                 start: float | None = None, end: float | None = None, open_timeout: float = 10.0,
                 read_timeout: float = 5.0, frame_threads: int = 2, latest_only: bool | None = None):
        start, end = check_time_range(start, end)
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
        self.damaged_packets = 0
        self.missing_frames = 0
        self.duplicate_frames = 0
        self.frame_numbering = "arrival" if self.live else "decode order"  # decided when the first frame arrives
        self._step: float | None = None  # seconds per frame number in "timestamps" numbering
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._seek_lock = threading.Lock()
        self._pending_seek: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"capture:{self.spec.label}", daemon=True)

    @property
    def bad_packets(self) -> int:
        """Former name of ``damaged_packets``."""
        return self.damaged_packets

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
        seconds = float(seconds)
        if not math.isfinite(seconds):
            raise TimeRangeError(f"cannot seek to {seconds:g} s")
        with self._seek_lock:
            self._pending_seek = max(0.0, seconds)
        self.frames.drain()

    # -- thread body ---------------------------------------------------------------------------------
    def _open(self):
        import av

        kwargs = {"format": self.spec.format, "options": dict(self.spec.options)}
        if self.live:
            kwargs["timeout"] = (self.open_timeout, self.read_timeout)
        t0 = time.monotonic()
        try:
            container = av.open(self.spec.url, **kwargs)
        except (av.FFmpegError, OSError) as exc:
            if self.live and self._timed_out(av, exc, time.monotonic() - t0, self.open_timeout):
                raise SourceError(f"{self.spec.label}: timed out after {self.open_timeout:g} s while opening "
                                  f"(no answer, or no usable data)") from exc
            raise SourceError(describe_open_error(self.spec, exc)) from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.spec.label}: has no video stream")
        stream = container.streams.video[0]
        if not self.live:
            stream.thread_type = "AUTO"  # frame + slice threads; thread_count set explicitly (PyAV#1962)
            stream.thread_count = self.frame_threads
        return container, stream

    @staticmethod
    def _timed_out(av, exc: BaseException, elapsed: float, timeout: float) -> bool:
        """PyAV's timeout interrupts FFmpeg (ExitError); some demuxers then report "Invalid data" or an
        I/O error instead, which the elapsed time gives away."""
        return isinstance(exc, av.ExitError) or elapsed >= 0.9 * timeout

    def _numbering(self, stream) -> None:
        """Choose how frames are numbered (see ``Frame``), once the stream is open."""
        if self.live:
            return
        base = _fraction(stream.base_rate) or _fraction(stream.guessed_rate)
        average = _fraction(stream.average_rate)
        lo, hi = CONSTANT_RATE_RATIO
        if base and (average is None or lo <= average / base <= hi):
            self.frame_numbering, self._step = "timestamps", float(1 / base)
            tb = _fraction(stream.time_base)
            ticks = round(1 / (base * tb)) if tb else 0
            if ticks and abs(ticks * tb * base - 1) < 0.002:  # e.g. "29.97" for 20 ticks of 1/600 s: exactly 1/30 s
                self._step = float(ticks * tb)

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
        skip_before = None
        seeked = bool(self.start_time)  # frame numbers after a seek are re-derived from the timestamp
        if self.start_time:
            self._seek_container(container, stream, self.start_time, tb)
            skip_before = self.start_time
        packets = container.demux(stream)
        consecutive_bad = 0
        wall0 = media0 = None
        last = None  # (index, pts, time) of the previous decoded frame
        last_read = time.monotonic()
        while not self._stop.is_set():
            with self._seek_lock:
                target, self._pending_seek = self._pending_seek, None
            if target is not None:
                self._seek_container(container, stream, target, tb)
                packets = container.demux(stream)
                skip_before, wall0 = target, None
                seeked, last = True, None
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.FFmpegError, OSError) as exc:
                if self.live and self._timed_out(av, exc, time.monotonic() - last_read, self.read_timeout):
                    raise SourceError(f"{self.spec.label}: timed out: no data within the {self.read_timeout:g} s "
                                      f"read timeout") from exc
                raise
            last_read = time.monotonic()
            try:
                decoded = packet.decode()
                consecutive_bad = 0
            except av.InvalidDataError as exc:
                self.damaged_packets += 1
                consecutive_bad += 1
                log.warning("%s: skipped a damaged packet (%s)", self.spec.label, exc)
                if consecutive_bad > MAX_CONSECUTIVE_BAD_PACKETS:
                    raise SourceError(f"{self.spec.label}: too many damaged packets in a row "
                                      f"({consecutive_bad})") from exc
                continue
            for vf in decoded:
                if self.info is None:
                    self.info = self._stream_info(stream, int(getattr(vf, "rotation", 0) or 0))
                    self._numbering(stream)
                    self._opened.set()
                numbered = self._number(vf.pts, tb, last, seeked)
                if numbered is None:
                    continue  # same timestamp as the previous frame
                index, t, missing = numbered
                last = (index, vf.pts, t)
                if skip_before is not None and t < skip_before - 1e-6:
                    continue
                skip_before = None
                if self.end_time is not None and t > self.end_time + 1e-6:
                    return
                if missing:
                    self.missing_frames += missing
                    log.info("%s: %d frame(s) missing before frame %d (t=%.3f s)", self.spec.label, missing, index, t)
                image = upright(vf.to_ndarray(format="rgb24"), self.info.rotation)
                frame = Frame(index, t, vf.pts, image, time.perf_counter())
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

    def _number(self, pts, tb: Fraction, last, seeked: bool) -> tuple[int, float, int] | None:
        """(frame number, time in seconds, frames missing just before it) of a decoded frame (see
        ``Frame``), or None for a frame repeating the previous frame's timestamp (counted, dropped).
        ``last``: (number, pts, time) of the previous decoded frame, None at the start or after a seek."""
        if last is not None and pts is not None and pts == last[1] and not self.live:
            self.duplicate_frames += 1
            log.warning("%s: dropped a frame repeating the timestamp of frame %d", self.spec.label, last[0])
            return None
        if pts is None:  # no timestamp: decode order, time from the frame rate
            index = 0 if last is None else last[0] + 1
            return index, index / (self.info.fps or 30.0), 0
        t = float(pts * tb)
        origin = self.info.start_time
        if last is None:
            if self._step is not None:  # its slot on the timeline; from the start, slots before it are missing
                index = max(0, round((t - origin) / self._step))
                return index, t, 0 if seeked else index
            return (max(0, round((t - origin) * (self.info.fps or 30.0))) if seeked else 0), t, 0
        if self._step is None:
            return last[0] + 1, t, 0
        steps = (t - last[2]) / self._step
        n = round(steps)
        if n < 1 or abs(steps - n) > OFF_GRID:
            log.warning("%s: timestamps leave the %.4g fps grid at t=%.3f s; numbering the rest of the frames "
                        "in decode order", self.spec.label, 1 / self._step, t)
            self.frame_numbering, self._step = "decode order", None
            return last[0] + 1, t, 0
        return last[0] + n, t, n - 1

    def _put(self, frame: Frame) -> bool:
        while not self._stop.is_set():
            try:
                return self.frames.put(frame, timeout=0.1)
            except TimeoutError:
                continue
        return False

    def _seek_container(self, container, stream, seconds: float, tb: Fraction) -> None:
        container.seek(int(seconds / tb), stream=stream, backward=True, any_frame=False)
