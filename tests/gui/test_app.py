import os
import subprocess
import sys

import pytest

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
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "frames shown" in done.stdout
    assert (tmp_path / "sshvideo_view_snapshot.png").stat().st_size > 0
