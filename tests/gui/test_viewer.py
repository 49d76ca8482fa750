"""The viewer, offscreen: frames with boxes, live threshold, pause/seek/snapshot/record, clean close."""
import threading
import time

import av
import pytest
from conftest import DATA
from PyQt6.QtGui import QColor

from core import Detector
from gui.main_window import MainWindow
from sshvideo.models import load_detector

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, confident_checkpoint):
    def factory(weights, device):
        return load_detector(weights or str(confident_checkpoint), device=device, threshold=0.05)

    win = MainWindow(factory, device="cpu", threshold=0.5)
    qtbot.addWidget(win)
    win.resize(800, 600)
    win.show()
    yield win
    win.close()


def count_colour(image, predicate):
    hits = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            if predicate(QColor(image.pixel(x, y))):
                hits += 1
    return hits


def greenish(c):
    return c.green() > 200 and c.red() < 60 and c.blue() < 90


def test_shows_frames_with_score_coloured_boxes_and_threshold_slider(qtbot, window, clip_factory):
    clip = clip_factory(frames=60, size=(320, 240), fps=20)
    assert window.open_source(str(clip))  # returns at once: the model may still be loading
    with qtbot.waitSignal(window.frame_shown, timeout=10000):
        pass
    qtbot.wait(50)
    dets = window.view.visible_detections()
    assert dets is not None and len(dets) > 0 and dets.scores.min() > 0.95  # crafted model: ~0.997
    shot = window.view.grab().toImage()
    assert count_colour(shot, greenish) > 20  # green boxes for scores near 1.0
    window.threshold_slider.setValue(100)  # 1.00: nothing above it
    qtbot.wait(50)
    assert len(window.view.visible_detections()) == 0
    assert count_colour(window.view.grab().toImage(), greenish) == 0
    window.threshold_slider.setValue(50)
    assert len(window.view.visible_detections()) > 0


def test_pause_seek_snapshot_and_record(qtbot, window, clip_factory, tmp_path):
    clip = clip_factory(frames=80, size=(320, 240), fps=20)
    assert window.open_source(str(clip))
    qtbot.waitSignal(window.frame_shown, timeout=10000).wait()
    window.start_recording(tmp_path / "rec.mp4")
    qtbot.wait(300)
    window.toggle_pause()
    assert window.session.capture.paused and window.play_action.text() == "Play"
    qtbot.wait(300)
    shown = window.frames_shown
    qtbot.wait(400)
    assert window.frames_shown <= shown + 1  # at most the frame that was in flight
    window.toggle_pause()
    window.seek(3.0)
    qtbot.waitUntil(lambda: getattr(window, "_last_time", 0) >= 3.0, timeout=5000)
    snap = window.save_snapshot(tmp_path / "snap.png")
    from PyQt6.QtGui import QImage

    image = QImage(str(snap))
    assert (image.width(), image.height()) == (320, 240) and count_colour(image, greenish) > 10
    with qtbot.waitSignal(window.recording_finished, timeout=10000) as finished:
        window.stop_recording()
    assert finished.args == [str(tmp_path / "rec.mp4")]
    with av.open(str(tmp_path / "rec.mp4")) as c:
        times = [f.time for f in c.decode(video=0)]
    assert len(times) >= 3 and times[0] < 0.2  # the recording starts at 0 s, not at the clip position


def test_errors_show_in_the_window_and_it_stays_usable(qtbot, window, tmp_path, clip_factory):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with qtbot.waitSignal(window.source_failed, timeout=10000):
        window.open_source(str(bad))
    assert window.banner.isVisible() and "broken.mp4" in window.banner.text()
    with qtbot.waitSignal(window.model_failed, timeout=10000):
        window.set_weights(str(tmp_path / "missing.pt"))
    assert "checkpoint not found" in window.banner.text()
    assert window.detector is not None and window.weights is None  # the working model stays
    with qtbot.waitSignal(window.source_opened, timeout=10000):
        assert window.open_source(str(clip_factory(frames=10)))  # still works afterwards
    assert not window.banner.isVisible()
    with qtbot.waitSignal(window.ended, timeout=15000) as blocker:
        pass
    assert blocker.args == ["end of stream"]


def test_real_clip_and_clean_close_within_a_second(qtbot, confident_checkpoint):
    def factory(weights, device):
        return Detector.from_checkpoint(confident_checkpoint, device="cpu")

    win = MainWindow(factory, device="cpu")
    qtbot.addWidget(win)
    win.show()
    assert win.open_source(str(DATA / "closeup_988.mp4"))
    qtbot.waitSignal(win.frame_shown, timeout=10000).wait()
    assert win.session.info.width == 988
    t0 = time.perf_counter()
    win.close()
    assert time.perf_counter() - t0 < 1.0
    names = [t.name for t in threading.enumerate()]
    assert "detect-worker" not in names and not any(n.startswith("capture:") for n in names)


def test_live_source_and_status_bar(qtbot, window):
    assert window.open_source("lavfi:testsrc2=size=320x240:rate=25")
    qtbot.waitSignal(window.frame_shown, timeout=10000).wait()
    qtbot.wait(1200)
    window._update_status()
    text = window.status_label.text()
    assert "320×240" in text and "detector" in text and "dropped" in text and "device cpu (onnxruntime)" in text


def test_track_ids_on_the_boxes_toggle_and_face_counts_in_the_status_bar(qtbot, window, clip_factory):
    clip = clip_factory(frames=80, size=(320, 240), fps=20)
    assert window.open_source(str(clip))
    qtbot.waitUntil(lambda: window.frames_shown >= 4, timeout=10000)
    window.toggle_pause()
    qtbot.wait(300)  # let the frame in flight land
    dets, ids = window.view.visible_detections(), window.view.visible_ids()
    assert ids is not None and len(ids) == len(dets) > 0 and len(set(ids.tolist())) == len(ids)
    window._update_status()
    assert f"faces {len(dets)} ({window.tracks.distinct_faces} distinct)" in window.status_label.text()
    assert window.tracks.distinct_faces >= len(ids)
    with_ids = window.view.grab().toImage()
    assert window.ids_action.shortcut().toString() == "I" and window.ids_action.isChecked()
    window.ids_action.trigger()  # key I / the toolbar's "Ids"
    assert not window.view.show_ids and window.view.grab().toImage() != with_ids
    window.seek(1.0)  # a seek restarts the tracks; ids go on counting
    window.toggle_pause()
    qtbot.waitUntil(lambda: window._last_time >= 1.0, timeout=5000)
    assert window.view.visible_ids().min() > ids.max()
