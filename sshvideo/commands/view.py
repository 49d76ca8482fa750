"""``sshvideo view``: the desktop viewer on a camera, file or stream (Qt is imported only here)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from sshvideo.commands.common import DetectorOptions, add_detector_arguments
from training.arg_types import positive_number

HELP = "open the desktop viewer on a camera, file or stream"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", help="camera index or name, video file or URL (default: the default "
                                                  "camera, else the bundled sample clip)")
    add_detector_arguments(parser, 0.5, threshold_help="initial display threshold (a slider in the window)")
    parser.add_argument("--video-size", metavar="WxH", help="camera capture size, e.g. 1280x720")
    parser.add_argument("--fps", type=positive_number, help="camera frame rate, e.g. 30")
    parser.add_argument("--pixel-format", help="camera pixel format, e.g. mjpeg (v4l2) or nv12 (avfoundation)")


@dataclass(frozen=True)
class Options:
    source: str | None
    weights: Path | None
    device: str
    backend: str
    threshold: float
    size: tuple[int | None, int | None] | None
    video_size: str | None = None
    fps: float | None = None
    pixel_format: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        detector = DetectorOptions.from_args(args)
        return cls(args.source, detector.weights, detector.device, detector.backend, detector.threshold,
                   detector.size, args.video_size, args.fps, args.pixel_format)


def run(options: Options) -> int:
    from gui.app import run_viewer

    return run_viewer(source=options.source, weights=options.weights, device=options.device,
                      backend=options.backend, threshold=options.threshold, size=options.size,
                      video_size=options.video_size, fps=options.fps, pixel_format=options.pixel_format)
