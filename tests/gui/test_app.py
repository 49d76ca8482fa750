import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO

from gui.app import has_display

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("platform, display, expected", [
    ("offscreen", ":0", False),  # drawing nowhere, whatever DISPLAY says
    ("minimal", "", False),
    ("offscreen:fontengine=freetype", "", False),
    ("xcb", "", True),
    ("", ":0", True),
    ("", "", False),
])
def test_has_display_on_linux(monkeypatch, platform, display, expected):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert has_display() is expected


def test_view_with_the_offscreen_platform_plays_once_and_exits(tmp_path, clip_factory, random_lite_checkpoint):
    # It used to wait for a user who could never close the window.
    clip = clip_factory(frames=10)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "sshvideo.cli", "view", str(clip), "--weights",
                           str(random_lite_checkpoint), "--backend", "torch"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "frames shown" in done.stdout
    assert (tmp_path / "sshvideo_view_snapshot.png").stat().st_size > 0


@pytest.fixture
def sigint_disposition():
    """Set SIGINT's handler for one test (as a terminal would, or as a script's `cmd &` does), whatever the
    disposition pytest was started with; restored afterwards."""
    previous = signal.getsignal(signal.SIGINT)
    yield lambda handler: signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_runs_the_handler_from_the_event_loop_without_keyboard_interrupt(qtbot, sigint_disposition):
    from PyQt6.QtWidgets import QApplication

    from gui.app import CtrlC

    sigint_disposition(signal.default_int_handler)
    calls = []
    with CtrlC(lambda: calls.append("stop")) as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)  # handled by our handler: no KeyboardInterrupt here
        qtbot.waitUntil(lambda: calls == ["stop"], timeout=2000)
    assert ctrl_c.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert QApplication.instance() is not None


def test_ctrl_c_leaves_an_ignored_sigint_ignored(qtbot, sigint_disposition):
    from gui.app import CtrlC

    sigint_disposition(signal.SIG_IGN)
    calls = []
    with CtrlC(lambda: calls.append("stop")) as ctrl_c:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.wait(200)
    assert calls == [] and not ctrl_c.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_closing_waits_for_python_threads_and_skips_threads_python_did_not_start(monkeypatch):
    import _thread

    from gui.app import _join_worker_threads

    release, foreign_seen, finished, dummies = threading.Event(), threading.Event(), [], []

    def foreign():  # as an FFmpeg or Qt thread calling back into Python: listed as a dummy thread, not joinable
        dummies.append(threading.current_thread())
        foreign_seen.set()
        release.wait(10)

    _thread.start_new_thread(foreign, ())
    assert foreign_seen.wait(5)
    worker = threading.Thread(target=lambda: (time.sleep(0.3), finished.append(True)), daemon=True)
    worker.start()
    # Only these threads, not whatever earlier tests left running in this process.
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread(), *dummies, worker])
    try:
        _join_worker_threads(5.0)  # used to fail: "cannot join a dummy thread"
        assert finished == [True]
    finally:
        release.set()


def test_ctrl_c_closes_the_viewer_with_exit_code_130_and_no_traceback(tmp_path, random_lite_checkpoint):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    # SIGINT as a terminal leaves it, whatever this test process was started with.
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from gui.app import run_viewer; "
              f"sys.exit(run_viewer('lavfi:testsrc2=size=160x120:rate=10', weights={str(random_lite_checkpoint)!r}, "
              "backend='torch'))")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # the first line comes after torch's import: slow on a busy machine
    watchdog.start()
    try:
        assert "playing offscreen" in proc.stdout.readline()  # printed just before the event loop starts
        time.sleep(0.5)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        proc.kill()
    print(f"exited {time.perf_counter() - t0:.1f} s after SIGINT")
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err
    assert "QThread: Destroyed" not in err
