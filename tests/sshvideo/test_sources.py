"""Issue 20 item 10: what a source string means; an existing file always wins."""
import pytest

from sshvideo.sources import SourceKind, parse_source


@pytest.mark.parametrize("name", ["video=holiday.mp4", "lavfi:clip.mp4", "v4l2:take2.mp4", "0"])
def test_an_existing_relative_file_wins_over_a_camera_or_filter_graph(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"x")
    spec = parse_source(name)
    assert spec.kind is SourceKind.FILE and spec.format is None and spec.label == name
    assert (tmp_path / name).samefile(spec.url)


def test_without_such_a_file_the_prefixes_keep_their_meaning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_source("video=My Cam").kind is SourceKind.CAMERA and parse_source("video=My Cam").format == "dshow"
    assert parse_source("lavfi:testsrc2=size=64x48").kind is SourceKind.SYNTHETIC
    assert parse_source("v4l2:/dev/video3").kind is SourceKind.CAMERA
    (tmp_path / "lavfi:testsrc").mkdir()  # a folder is not a file
    assert parse_source("lavfi:testsrc").kind is SourceKind.SYNTHETIC
    assert parse_source("rtsp://host/x").kind is SourceKind.STREAM
    assert parse_source("missing.mp4").kind is SourceKind.FILE


@pytest.mark.video
def test_a_file_named_like_a_filter_graph_is_decoded_as_that_file(tmp_path, monkeypatch, clip_factory):
    from sshvideo.capture import Capture

    clip = clip_factory(frames=3)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lavfi:color.mp4").write_bytes(clip.read_bytes())
    cap = Capture("lavfi:color.mp4").start()
    assert cap.spec.kind is SourceKind.FILE and not cap.live and (cap.info.width, cap.info.height) == (160, 120)
    cap.stop()
