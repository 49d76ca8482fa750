"""Issue 20 item 10 (render): an odd-sized input is padded to even for yuv420p, visibly and faithfully."""
import logging

import numpy as np
import pytest

from sshvideo.capture import Capture
from sshvideo.handoff import EndOfStream
from sshvideo.video_writer import VideoWriter

pytestmark = pytest.mark.video


def _frames(path):
    cap = Capture(str(path)).start()
    frames = []
    while True:
        try:
            frames.append(cap.frames.get(timeout=10))
        except EndOfStream:
            return cap.info, frames


def test_odd_size_is_padded_by_edge_replication_and_says_so(clip_factory, tmp_path, caplog):
    clip = clip_factory(frames=3, size=(161, 121), codec="libx264rgb")  # RGB H.264 allows odd sizes
    info, frames = _frames(clip)
    assert (info.width, info.height) == (161, 121)
    out = tmp_path / "odd.mp4"
    with caplog.at_level(logging.WARNING, logger="sshvideo.video_writer"):
        writer = VideoWriter(out, info)
        for f in frames:
            image = f.image.copy()
            image[:, -1] = (250, 20, 20)  # a red last column and a blue last row: the padding must repeat them
            image[-1, :] = (20, 20, 250)
            writer.write(image, f.time)
        writer.close()
    assert writer.padded and (writer.width, writer.height) == (162, 122)
    assert any("161×121" in r.getMessage() and "162×122" in r.getMessage() and "column and row" in r.getMessage()
               for r in caplog.records)
    encoded, decoded = _frames(out)
    assert (encoded.width, encoded.height) == (162, 122) and len(decoded) == 3
    img = decoded[0].image.astype(int)
    assert img[10, -1, 0] > 180 and img[10, -1, 2] < 90  # the extra column repeats the red one
    assert img[-1, 10, 2] > 180 and img[-1, 10, 0] < 90  # the extra row repeats the blue one
    assert np.abs(img[:120, :160] - frames[0].image[:120, :160].astype(int)).mean() < 12  # content in place


def test_even_size_is_encoded_as_is_without_a_warning(clip_factory, tmp_path, caplog):
    info, frames = _frames(clip_factory(frames=2, size=(160, 120)))
    with caplog.at_level(logging.WARNING, logger="sshvideo.video_writer"):
        writer = VideoWriter(tmp_path / "even.mp4", info)
        for f in frames:
            writer.write(f.image, f.time)
        writer.close()
    assert not writer.padded and (writer.width, writer.height) == (160, 120) and not caplog.records
