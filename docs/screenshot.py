"""Regenerate docs/viewer.png: the viewer window on the bundled 720p clip with the embedded model.

    QT_QPA_PLATFORM=offscreen python docs/screenshot.py [--seconds 2.5]
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
    args = ap.parse_args(argv)
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import SAMPLE_CLIP, MainWindow
    from sshvideo.models import load_detector

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(lambda w, d: load_detector(w, device=d, threshold=0.05), device="cpu", threshold=0.5)
    window.resize(1100, 720)
    window.show()
    if not window.open_source(str(SAMPLE_CLIP)):
        print(window.banner.text(), file=sys.stderr)
        return 1
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
