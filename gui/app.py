"""``sshvideo view``: start Qt, open the window on the requested (or default) source."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from sshvideo.sources import list_cameras

# Qt platforms that draw nowhere: the viewer then plays once and exits instead of waiting for a user.
HEADLESS_QT_PLATFORMS = ("offscreen", "minimal")
HEADLESS_LIMIT_S = 120  # a headless run stops after this even if the source never ends
EXIT_BAD_ENVIRONMENT = 2  # as for the CLI's other user/environment errors
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform:
        return platform not in HEADLESS_QT_PLATFORMS
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def default_source() -> str | None:
    from sshvideo.samples import SAMPLE_CLIP

    cams = list_cameras()
    if cams:
        return cams[0].source
    return str(SAMPLE_CLIP) if SAMPLE_CLIP.is_file() else None


class CtrlC:
    """While active, SIGINT (Ctrl-C in the terminal) calls ``on_interrupt`` from the Qt event loop.

    Python runs signal handlers only between bytecodes of the main thread, and Qt's event loop is C++
    code that can sleep for a long time: without help Ctrl-C either waits for the next Python slot or,
    the default handler, raises KeyboardInterrupt in the middle of one (a traceback). A socket pair
    registered with ``signal.set_wakeup_fd`` and watched by a ``QSocketNotifier`` wakes the loop at
    once; the handler itself only schedules ``on_interrupt``, so the window is closed from the loop,
    never from inside another slot. Needs a QCoreApplication; use it from the main thread. A process started
    with SIGINT ignored keeps ignoring it.
    """

    def __init__(self, on_interrupt: Callable[[], None]):
        self._on_interrupt = on_interrupt
        self.interrupted = False

    def __enter__(self) -> Self:
        from PyQt6.QtCore import QSocketNotifier

        # Started with SIGINT ignored (a script's `cmd &`, nohup-style launchers): keep ignoring it, as Python does.
        self._active = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        if not self._active:
            return self
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_handler = signal.signal(signal.SIGINT, self._handle)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._empty_socket)
        return self

    def __exit__(self, *exc) -> None:
        if not self._active:
            return
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGINT, self._previous_handler)
        self._reader.close()
        self._writer.close()

    def _empty_socket(self) -> None:
        """The wake-up byte only serves to return to Python, where the handler then runs."""
        try:
            self._reader.recv(64)
        except BlockingIOError:
            pass  # already emptied: nothing was waiting

    def _handle(self, signum, frame) -> None:
        from PyQt6.QtCore import QTimer

        if self.interrupted:
            return
        self.interrupted = True
        QTimer.singleShot(0, self._on_interrupt)


def _interruptible(app, window) -> CtrlC | None:
    """A ``CtrlC`` that closes the window and ends the loop; None off the main thread (no signals there)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop():
        window.close()
        app.quit()

    return CtrlC(stop)


def run_viewer(source: str | None = None, *, weights: str | Path | None = None, device: str = "auto",
               backend: str = "auto", threshold: float = 0.5,
               size: str | tuple[int | None, int | None] | None = None, video_size: str | None = None,
               fps: float | None = None, pixel_format: str | None = None) -> int:
    """Open the viewer and return the exit code.

    Without a display (a headless machine) it plays the source offscreen once, saves a snapshot and
    prints the measured display/detector FPS, so the command still does its job. Exit codes: 0, 1
    when nothing was shown, 2 when Qt's X11 plugin lacks system libraries (named in the message),
    130 after Ctrl-C (the window is closed cleanly, no traceback).
    """
    headless = not has_display()
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # the offscreen plugin's size-hint chatter
    else:
        from gui.platform_check import xcb_problem

        problem = xcb_problem(os.environ)
        if problem is not None:
            print(problem, file=sys.stderr)
            return EXIT_BAD_ENVIRONMENT
    try:
        return _run(source, headless, weights=None if weights is None else str(weights), device=device,
                    backend=backend, threshold=threshold, size=size,
                    camera_options={"size": video_size, "fps": fps, "pixel_format": pixel_format})
    except KeyboardInterrupt:  # Ctrl-C before the handler was installed (starting Qt)
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(source: str | None, headless: bool, *, weights: str | None, device: str, backend: str,
         threshold: float, size, camera_options: dict) -> int:
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from sshvideo.models import load_detector

    def factory(weights, device):
        return load_detector(weights, device=device, threshold=0.05, size=size, backend=backend)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(factory, weights=weights, device=device, threshold=threshold, camera_options=camera_options)
    ctrl_c = _interruptible(app, window)
    with ctrl_c or contextlib.nullcontext():
        try:
            if headless:
                code = _play_headless(app, window, source, lambda: ctrl_c is not None and ctrl_c.interrupted)
            else:
                code = _play(app, window, source)
        finally:
            window.close()
            _join_worker_threads(THREAD_EXIT_WAIT_S)
    if ctrl_c is not None and ctrl_c.interrupted:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


THREAD_EXIT_WAIT_S = 15.0


def _join_worker_threads(timeout_s: float) -> None:
    """Wait (bounded) for the capture and detection threads of stopped sessions. A session stopped while
    its detector is inside a long first call (building the ONNX Runtime graph, tracing) lets that thread
    finish on its own; leaving the interpreter while it is still inside native code aborts the process
    ("terminate called without an active exception"), as a Ctrl-C right after start-up showed."""
    deadline = time.monotonic() + timeout_s
    # A second Ctrl-C while closing would interrupt the wait and abort the process: ignored (bounded wait).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        for thread in threading.enumerate():
            # Threads Python did not start (FFmpeg's or Qt's) appear as dummy threads once they call into Python,
            # and cannot be joined; the sessions' threads are all threading.Thread.
            if thread is threading.main_thread() or isinstance(thread, threading._DummyThread):
                continue
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _open_first_source(window, source: str | None) -> bool:
    source = source or default_source()
    if source is None:
        window.view.clear("No camera found. Choose a source: a file (Ctrl+O) or a stream URL (Ctrl+U).")
        window.show_error("No camera found on this system and no sample clip installed.")
        return False
    return window.open_source(source)


def _play(app, window, source: str | None) -> int:
    _open_first_source(window, source)
    window.show()
    return app.exec()


def _play_headless(app, window, source: str | None, interrupted: Callable[[], bool]) -> int:
    """Play until the source ends (or fails, or the time limit), then report like a benchmark;
    nothing is reported after Ctrl-C."""
    from PyQt6.QtCore import QTimer

    print("no display found: playing offscreen once (open a desktop session to see the window)")
    for finished in (window.ended, window.source_failed, window.model_failed):
        finished.connect(app.quit)
    if not _open_first_source(window, source):
        print(window.banner.text() or "nothing to play")
        return 1
    window.show()
    QTimer.singleShot(HEADLESS_LIMIT_S * 1000, app.quit)
    started = time.monotonic()
    app.exec()
    if interrupted():
        return EXIT_INTERRUPTED
    if not window.frames_shown:
        print(window.banner.text() or f"nothing shown within {time.monotonic() - started:.0f} s")
        return 1
    snapshot = Path.cwd() / "sshvideo_view_snapshot.png"
    if window.view.snapshot() is not None:
        window.save_snapshot(snapshot)
        print(f"snapshot of the last frame: {snapshot}")
    # Read after the end, not sampled while playing: a clip shorter than any sampling period still reports.
    session = window.current_or_last_session()
    if session is not None:
        last = session.stats()
        device = window.detector.runs_on if window.detector else "-"
        print(f"frames shown {window.frames_shown}, display {last.display_fps:.1f} fps, detector "
              f"{last.detector_fps:.1f} fps, latency {last.latency_ms:.0f} ms, dropped {last.dropped}, "
              f"device {device}")
    return 0
