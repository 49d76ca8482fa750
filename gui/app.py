"""``sshvideo view``: start Qt, open the window on the requested (or default) source."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sshvideo.sources import list_cameras

# Qt platforms that draw nowhere: the viewer then plays once and exits instead of waiting for a user.
HEADLESS_QT_PLATFORMS = ("offscreen", "minimal")


def has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform:
        return platform not in HEADLESS_QT_PLATFORMS
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def default_source() -> str | None:
    from gui.main_window import SAMPLE_CLIP

    cams = list_cameras()
    if cams:
        return cams[0].source
    return str(SAMPLE_CLIP) if SAMPLE_CLIP.is_file() else None


def run_viewer(args) -> int:
    """Open the viewer. Without a display (a headless machine) it plays the source offscreen once,
    saves a snapshot and prints the measured display/detector FPS, so the command still does its job."""
    headless = not has_display()
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # the offscreen plugin's size-hint chatter
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from sshvideo.models import load_detector

    def factory(weights, device):
        return load_detector(weights, device=device, threshold=0.05, size=args.size, backend=args.backend)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    camera_options = {"size": args.video_size, "fps": args.fps, "pixel_format": args.pixel_format}
    window = MainWindow(factory, weights=args.weights, device=args.device, threshold=args.thresh,
                        camera_options=camera_options)
    source = args.source or default_source()
    if source is None:
        window.view.clear("No camera found. Choose a source: a file (Ctrl+O) or a stream URL (Ctrl+U).")
        window.show_error("No camera found on this system and no sample clip installed.")
    else:
        window.open_source(source)
    window.show()
    if not headless:
        return app.exec()
    print("no display found: playing offscreen once (open a desktop session to see the window)")
    deadline = time.monotonic() + 120
    window.ended.connect(app.quit)
    if window.session is None:
        print(window.banner.text() or "nothing to play")
        return 1
    from PyQt6.QtCore import QTimer

    QTimer.singleShot(int((deadline - time.monotonic()) * 1000), app.quit)
    app.exec()
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
    window.close()
    return 0 if window.frames_shown else 1
