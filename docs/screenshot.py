"""Regenerate docs/viewer.png: the viewer window on the bundled 720p clip with the embedded model.

    QT_QPA_PLATFORM=offscreen python docs/screenshot.py [--seconds 2.5]
    QT_QPA_PLATFORM=offscreen python docs/screenshot.py --ids --out docs/viewer_ids.png   # track ids shown

The status bar shows the faces on the frame and the distinct faces (tracks) so far. ``--ids`` keeps the
track ids on the boxes (the viewer's default, key I); without it they are switched off, as in viewer.png.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="grab after playing this long")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "viewer.png"))
    ap.add_argument("--ids", action="store_true", help="show track ids on the boxes")
    ap.add_argument("--width", type=int, default=1100)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args(argv)
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from sshvideo.models import load_detector
    from sshvideo.samples import SAMPLE_CLIP

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(lambda w, d: load_detector(w, device=d, threshold=0.05), device="cpu", threshold=0.5)
    window.resize(args.width, args.height)
    window.show()
    if not args.ids:
        window.ids_action.trigger()
    if not window.open_source(str(SAMPLE_CLIP)):
        print(window.banner.text(), file=sys.stderr)
        return 1
    give_up = time.monotonic() + 120
    while window.frames_shown == 0 and time.monotonic() < give_up:  # the model loads first (slow on a busy machine)
        app.processEvents()
        time.sleep(0.01)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:  # play, so the status bar shows steady-state rates
        app.processEvents()
        time.sleep(0.002)
    window._update_status()
    app.processEvents()
    window.grab().save(args.out, "PNG")
    print(f"wrote {args.out}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
