"""``sshvideo detect``: faces in image files, written as WIDER prediction files and JSON Lines."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from sshvideo.commands import exit_codes
from sshvideo.commands.common import (
    DetectorOptions,
    add_detector_arguments,
    inputs_for_run,
    show_progress,
)

HELP = "detect faces in images (WIDER-format files + JSON Lines)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or globs")
    parser.add_argument("--out", "-o", type=Path, default=Path("detections"),
                        help="output folder (default: ./detections)")
    add_detector_arguments(parser, 0.5)
    parser.add_argument("--pyramid", action="store_true", help="the paper's 4-level image pyramid (slower, "
                                                               "more small faces)")
    parser.add_argument("--draw", action="store_true", help="also write annotated images to OUT/annotated/")
    parser.add_argument("--draw-scores", action="store_true", help="print the score above each drawn box")


@dataclass(frozen=True)
class Options:
    inputs: tuple[str, ...]
    out: Path
    detector: DetectorOptions
    draw: bool = False
    draw_scores: bool = False
    progress: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        return cls(tuple(args.inputs), args.out, DetectorOptions.from_args(args), args.draw, args.draw_scores,
                   show_progress(args))


def run(options: Options) -> int:
    from core.file_types import IMAGE_SUFFIXES
    from sshvideo.detect_images import detect_images

    inputs, failed_specs = inputs_for_run(options.inputs, IMAGE_SUFFIXES, options.out)
    if not inputs:
        print("error: no images to process", file=sys.stderr)
        return exit_codes.FAILED_INPUTS
    detector = options.detector.load()
    summary = detect_images(detector, inputs, options.out, threshold=options.detector.threshold, draw=options.draw,
                            draw_scores=options.draw_scores, progress=options.progress,
                            report=lambda message: print(message, file=sys.stderr))
    failed = summary.failed + failed_specs
    print(f"{summary.images} images, {summary.faces} faces, {failed} failed, {summary.seconds:.1f} s "
          f"on {detector.runs_on} -> {options.out}")
    return exit_codes.FAILED_INPUTS if failed else exit_codes.OK
