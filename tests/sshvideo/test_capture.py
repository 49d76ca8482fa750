import threading
import time

import numpy as np
import pytest

from sshvideo.capture import Capture, SourceError
from sshvideo.handoff import BoundedQueue, EndOfStream, LatestSlot
from sshvideo.sources import SourceKind, parse_source

pytestmark = pytest.mark.video


def drain(capture, timeout=10):
    frames = []
    while True:
        try:
            frames.append(capture.frames.get(timeout=timeout))
        except EndOfStream as end:
            return frames, end


def test_file_frames_in_order_with_index_and_time(clip_factory):
    clip = clip_factory(frames=15, fps=10)
    cap = Capture(str(clip), queue_size=2).start()
    assert (cap.info.width, cap.info.height, round(cap.info.fps)) == (160, 120, 10)
    frames, end = drain(cap)
    cap.stop()
    assert end.reason == "end of stream" and end.error is None
    assert [f.index for f in frames] == list(range(15))
    assert [round(f.time, 3) for f in frames] == [round(i / 10, 3) for i in range(15)]
    assert frames[0].image.shape == (120, 160, 3) and frames[0].image.dtype == np.uint8
    assert isinstance(cap.frames, BoundedQueue) and cap.frames.dropped == 0
    assert not cap.running


def test_variable_frame_rate_timestamps_are_kept(clip_factory):
    pts = [0, 40, 120, 130, 300, 310, 500, 900]
    clip = clip_factory(frames=len(pts), pts=pts)
    frames, _ = drain(Capture(str(clip)).start())
    assert [round(f.time * 1000) for f in frames] == pts


def test_rotation_metadata_gives_upright_frames(clip_factory):
    clip = clip_factory(frames=3, size=(160, 96), rotation=90)
    cap = Capture(str(clip)).start()
    frames, _ = drain(cap)
    assert (cap.info.width, cap.info.height) == (96, 160) and cap.info.rotation == 90
    img = frames[0].image
    assert img.shape == (160, 96, 3)
    # 90° counter-clockwise (FFmpeg's display-matrix convention) moves the red top-left marker
    # (green channel 0; everything else has green ≥ 60) to the bottom-left corner
    assert img[-3, 2, 0] > 200 and img[-3, 2, 1] < 30 and img[2, 2, 1] > 40


def test_start_end_and_seek(clip_factory):
    clip = clip_factory(frames=30, fps=10)
    frames, _ = drain(Capture(str(clip), start=1.0, end=2.0).start())
    assert [f.index for f in frames] == list(range(10, 21))
    cap = Capture(str(clip), queue_size=1).start()
    first = cap.frames.get(timeout=5)
    cap.seek(2.5)
    later = cap.frames.get(timeout=5)
    while later.time < 2.5 - 1e-6 and later.index < first.index + 3:  # a frame decoded before the seek
        later = cap.frames.get(timeout=5)
    assert later.time >= 2.5 - 1e-6 and later.index == 25
    cap.stop()


def test_live_source_keeps_only_the_newest_frame_and_stops_fast():
    cap = Capture("lavfi:testsrc2=size=160x120:rate=50").start()
    assert cap.spec.kind is SourceKind.SYNTHETIC and isinstance(cap.frames, LatestSlot)
    time.sleep(0.5)
    newest = cap.frames.get(timeout=2)
    assert cap.frames.dropped > 5 and newest.index > 5  # ~25 frames produced, only the last kept
    t0 = time.perf_counter()
    cap.stop()
    assert not cap.running and time.perf_counter() - t0 < 1.0
    assert not [t for t in threading.enumerate() if t.name.startswith("capture:")]


def test_open_errors_name_the_source(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        Capture(str(tmp_path / "missing.mp4")).start()
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(SourceError, match="notes.mp4: cannot open as video"):
        Capture(str(bad)).start()


def test_missing_camera_is_a_message_not_a_hang():
    t0 = time.perf_counter()
    with pytest.raises(SourceError, match="camera"):
        Capture(parse_source("/dev/video97")).start()
    assert time.perf_counter() - t0 < 15


def test_parse_source_kinds():
    assert parse_source("rtsp://host/x").kind is SourceKind.STREAM
    assert parse_source("rtsp://host/x").options["rtsp_transport"] == "tcp"
    assert parse_source("https://host/live.m3u8").kind is SourceKind.STREAM
    assert parse_source("/dev/video1", size="1280x720", fps=30).options == {"video_size": "1280x720",
                                                                            "framerate": "30"}
    assert parse_source("video=My Cam").format == "dshow"
    assert parse_source("clip.mp4").kind is SourceKind.FILE


def test_truncated_file_ends_with_the_frames_it_has(clip_factory, tmp_path):
    clip = clip_factory(frames=40, size=(320, 240))
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        cap = Capture(str(cut)).start()
    except SourceError as exc:  # moov atom at the end: nothing decodable is also a clean error
        assert "cut.mp4" in str(exc)
        return
    frames, end = drain(cap)
    assert len(frames) < 40 and (end.error is None or "cut.mp4" in str(end.error))
