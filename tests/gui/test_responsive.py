"""The window's thread never waits: on a model that loads slowly or a source that never answers."""
import socket
import threading
import time

import numpy as np
import pytest
from PyQt6.QtCore import QTimer

from core.inference import Detections
from gui.main_window import MainWindow

pytestmark = pytest.mark.gui


class FakeDetector:
    """Finds nothing, at once: these tests are about threads, not boxes (a real first detection with
    the torch backend spends seconds tracing, and its thread would outlive the test)."""

    runs_on = "cpu (fake)"

    def detect(self, images):
        return [Detections(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)) for _ in images]


def fake_factory(weights, device):
    return FakeDetector()


class Ticks:
    """Counts a 20 ms QTimer: it only fires while the event loop is free to run."""

    def __init__(self):
        self.count = 0
        self.timer = QTimer(interval=20, timeout=self._tick)
        self.timer.start()

    def _tick(self):
        self.count += 1


class SilentServer:
    """A TCP server that accepts connections and never sends a byte: an http:// URL that never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/stream.mp4"
        self.connections = []
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            while True:
                conn, _ = self.listener.accept()
                self.connections.append(conn)
                self.accepted.set()
        except OSError:  # the listener was closed: the test is over
            return

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def capture_threads_for(label: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == f"capture:{label}"]


def test_event_loop_runs_while_a_source_never_answers_and_close_does_not_hang(qtbot, clip_factory, silent_server):
    win = MainWindow(fake_factory, device="cpu")
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=20000):
        pass
    opened, failed = [], []
    win.source_opened.connect(opened.append)
    win.source_failed.connect(failed.append)
    assert win.open_source(silent_server.url)
    assert silent_server.accepted.wait(10), "the viewer never connected"
    ticks = Ticks()
    qtbot.wait(600)
    assert ticks.count >= 15, f"event loop starved while opening: {ticks.count} ticks in 0.6 s"
    assert not opened and not failed  # still opening: the window did not wait for it
    win.threshold_slider.setValue(80)  # the window reacts meanwhile
    assert win.threshold_label.text() == "0.80"

    clip = clip_factory(frames=40, size=(160, 120), fps=20)  # a second source supersedes the first
    with qtbot.waitSignal(win.frame_shown, timeout=15000):
        win.open_source(str(clip))
    assert win.session.spec.label != silent_server.url and len(opened) == 1 and not failed

    win.open_source(silent_server.url)  # opening again when the window closes
    qtbot.wait(100)
    t0 = time.perf_counter()
    win.close()
    assert time.perf_counter() - t0 < 2.0
    ticks.timer.stop()
    silent_server.close()  # FFmpeg's read then fails at once and the abandoned capture threads end
    qtbot.waitUntil(lambda: not capture_threads_for(silent_server.url), timeout=5000)
    assert not opened[1:] and not failed  # the abandoned opens never reached the window


def test_event_loop_runs_while_the_model_loads(qtbot):
    release = threading.Event()

    def slow_factory(weights, device):
        release.wait(10)
        return FakeDetector()

    ticks = Ticks()
    win = MainWindow(slow_factory, device="cpu")
    qtbot.addWidget(win)
    win.show()
    assert win.open_source("lavfi:testsrc2=size=160x120:rate=10")  # waits for the model, not the UI
    qtbot.wait(400)
    assert ticks.count >= 10 and win.detector is None
    win._update_status()
    assert "loading the model" in win.status_label.text()
    with qtbot.waitSignal(win.frame_shown, timeout=15000):
        release.set()
    ticks.timer.stop()
    t0 = time.perf_counter()
    win.close()
    assert time.perf_counter() - t0 < 2.0


def test_a_late_answer_for_a_superseded_open_is_closed_not_shown(qtbot):
    class FakeSession:
        stopped = threading.Event()

        def stop(self, timeout=1.0):
            self.stopped.set()

    win = MainWindow(fake_factory, device="cpu")
    qtbot.addWidget(win)
    stale = FakeSession()
    win._source_opened(win._open_generation - 1, stale)
    assert win.session is None
    qtbot.waitUntil(stale.stopped.is_set, timeout=3000)
