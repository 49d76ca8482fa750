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


# Issue 20 item 8: frames are numbered by timestamp, so a lost frame leaves a gap instead of shifting the rest

def _remux(src, dst, packet_number, action):
    """Copy ``src``'s video packets to ``dst``; the ``packet_number``-th (decode order) is dropped or
    has its payload scrambled (header bytes kept, so the demuxer still accepts it)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream)
        n = 0
        for packet in inp.demux(stream):
            if packet.size == 0:
                continue
            n += 1
            if n - 1 == packet_number:
                if action == "drop":
                    continue
                data = bytearray(bytes(packet))
                data[4:] = bytes((b * 7 + 13) & 0xFF for b in data[4:])
                damaged = av.Packet(bytes(data))
                damaged.pts, damaged.dts, damaged.time_base = packet.pts, packet.dts, packet.time_base
                packet = damaged
            packet.stream = target
            out.mux(packet)
    return dst


def test_a_damaged_packet_leaves_a_gap_in_the_frame_numbers(clip_factory, tmp_path):
    clip = clip_factory(frames=30, fps=10)
    damaged = _remux(clip, tmp_path / "damaged.mp4", 5, "scramble")  # the frame shown at 0.4 s is lost
    cap = Capture(str(damaged)).start()
    frames, end = drain(cap)
    assert end.error is None and cap.frame_numbering == "timestamps"
    assert [f.index for f in frames] == [0, 1, 2, 3] + list(range(5, 30))
    assert all(round(f.time * 10) == f.index for f in frames)
    assert (cap.damaged_packets, cap.missing_frames, cap.duplicate_frames) == (1, 1, 0)
    assert cap.bad_packets == 1  # the former name


def test_a_dropped_packet_leaves_a_gap_and_seeking_agrees(clip_factory, tmp_path):
    clip = clip_factory(frames=30, fps=10)
    gapped = _remux(clip, tmp_path / "gapped.mp4", 12, "drop")  # the frame at 1.3 s is gone from the file
    cap = Capture(str(gapped)).start()
    frames, _ = drain(cap)
    assert [f.index for f in frames] == list(range(13)) + list(range(14, 30))
    assert (cap.damaged_packets, cap.missing_frames) == (0, 1)
    frames, _ = drain(Capture(str(gapped), start=1.0, end=2.0).start())
    assert [f.index for f in frames] == [10, 11, 12] + list(range(14, 21))
    intact = Capture(str(clip)).start()
    frames, _ = drain(intact)
    assert [f.index for f in frames] == list(range(30))
    assert (intact.damaged_packets, intact.missing_frames, intact.duplicate_frames) == (0, 0, 0)


def test_variable_frame_rate_is_numbered_in_decode_order(clip_factory):
    clip = clip_factory(frames=8, pts=[0, 40, 120, 130, 300, 310, 500, 900])
    cap = Capture(str(clip)).start()
    frames, _ = drain(cap)
    assert [f.index for f in frames] == list(range(8)) and cap.frame_numbering == "decode order"
    assert cap.missing_frames == 0


def test_duplicate_and_off_grid_timestamps(clip_factory):
    from fractions import Fraction

    cap = Capture(str(clip_factory(frames=2)))  # not started: the numbering rule on its own
    cap.info = type("Info", (), {"start_time": 0.0, "fps": 10.0})()
    cap.frame_numbering, cap._step = "timestamps", 0.1
    tb = Fraction(1, 1000)
    assert cap._number(0, tb, None, False) == (0, 0.0, 0)
    assert cap._number(300, tb, (0, 0, 0.0), False) == (3, 0.3, 2)  # two frames missing before it
    assert cap._number(300, tb, (3, 300, 0.3), False) is None and cap.duplicate_frames == 1
    assert cap._number(350, tb, (3, 300, 0.3), False) == (4, 0.35, 0)  # between slots: decode order from here
    assert cap.frame_numbering == "decode order" and cap._number(500, tb, (4, 350, 0.35), False) == (5, 0.5, 0)
    assert cap._number(200, tb, None, False) == (0, 0.2, 0) and cap._number(200, tb, None, True) == (2, 0.2, 0)


# Issue 20 item 9: start/end are validated by the library, not by FFmpeg's seek

@pytest.mark.parametrize("start,end,message", [
    (-5, None, "start must be a finite number of seconds ≥ 0, not -5"),
    (float("nan"), None, "start must be a finite number of seconds ≥ 0, not nan"),
    (None, float("inf"), "end must be a finite number"),
    ("soon", None, "start must be a number of seconds, not 'soon'"),
    (3, 2, r"end \(2 s\) must be after start \(3 s\)"),
    (None, 0, "must be after start"),
])
def test_bad_start_and_end_are_clear_errors(clip_factory, start, end, message):
    from core.errors import SshvideoError
    from sshvideo.capture import TimeRangeError

    clip = clip_factory(frames=3)
    with pytest.raises(TimeRangeError, match=message) as info:
        Capture(str(clip), start=start, end=end)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SshvideoError)
    cap = Capture(str(clip)).start()
    with pytest.raises(TimeRangeError):
        cap.seek(float("nan"))
    cap.stop()


# Issue 20 item 10: a stalled network stream says that it timed out, naming it

def _stalling_server(payload: bytes | None):
    """An HTTP server on 127.0.0.1 that accepts, sends ``payload`` (None: nothing at all), then stalls."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()
    connections = []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            connections.append(conn)
            if payload is not None:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n" + payload)

    threading.Thread(target=serve, daemon=True).start()

    def close():
        stop.set()
        server.close()
        for conn in connections:
            conn.close()

    return server.getsockname()[1], close


def _ts_bytes(tmp_path) -> bytes:
    import av

    path = tmp_path / "live.ts"
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path.read_bytes()


def test_a_silent_server_times_out_on_open_with_a_message(tmp_path):
    port, close = _stalling_server(None)
    url = f"http://127.0.0.1:{port}/live.ts"
    t0 = time.perf_counter()
    try:
        with pytest.raises(SourceError, match=rf"{url}: timed out after 1 s while opening"):
            Capture(url, open_timeout=1.0, read_timeout=1.0).start()
    finally:
        close()
    assert time.perf_counter() - t0 < 8


def test_a_stream_that_stalls_midway_ends_with_a_timeout_message(tmp_path):
    data = _ts_bytes(tmp_path)
    port, close = _stalling_server(data[: len(data) // 2])
    url = f"http://127.0.0.1:{port}/live.ts"
    t0 = time.perf_counter()
    try:
        cap = Capture(url, open_timeout=1.5, read_timeout=1.0, latest_only=False)
        try:
            cap.start()
        except SourceError as exc:  # the stall may also come before the first frame is decoded
            assert "timed out" in str(exc) and url in str(exc)
            return
        frames, end = drain(cap)
        cap.stop()
        assert frames and end.error is not None
        assert "timed out" in str(end.error) and url in str(end.error) and "Invalid data" not in str(end.error)
    finally:
        close()
        assert time.perf_counter() - t0 < 10
