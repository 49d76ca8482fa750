"""``sshvideo annotate``: detection files and rendered videos for many video files.

Under ``torchrun`` each process takes its share of the inputs (every WORLD_SIZE-th from its RANK) on
its own GPU, or on its share of the CPU cores.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from sshvideo.commands import exit_codes
from sshvideo.commands.common import (
    DetectorOptions,
    add_detector_arguments,
    inputs_for_run,
    show_progress,
)
from training.arg_types import (
    at_least,
    fraction,
    non_negative_int,
    non_negative_number,
    positive_int,
)

if TYPE_CHECKING:
    from sshvideo.annotate import AnnotateOptions

HELP = "detect faces in videos: detection files and/or a rendered video"

# A hiding mode's area is the ellipse inscribed in the box grown by this factor: below 1 it would
# leave part of the detected face visible.
MIN_MASK_SCALE = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sshvideo.exporters import WRITERS
    from sshvideo.render import RENDERERS

    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, folders (recursive) or globs")
    parser.add_argument("--out", "-o", type=Path, default=Path("annotated"),
                        help="output folder (default: ./annotated)")
    add_detector_arguments(parser, 0.5)
    parser.add_argument("--format", default="jsonl", help=f"comma-separated: {', '.join(WRITERS)} (default: jsonl)")
    parser.add_argument("--render", default="none", choices=list(RENDERERS),
                        help="rendered video: boxes coloured by score, or faces hidden (default: none)")
    parser.add_argument("--draw-scores", action="store_true", help="print scores on the rendered boxes")
    parser.add_argument("--mask-scale", type=at_least(MIN_MASK_SCALE), default=1.3,
                        help=f"grow hidden areas by this factor, at least {MIN_MASK_SCALE:g} (default 1.3)")
    parser.add_argument("--keep-audio", "-k", action="store_true", help="copy the audio stream into the rendered video")
    parser.add_argument("--every", type=positive_int, default=1, metavar="N",
                        help="detect on every N-th frame; in the frames in between, tracks carry their boxes "
                             "(with --no-track: the last detections are reused) (default: 1)")
    parser.add_argument("--start", type=non_negative_number, metavar="T", help="start time in seconds")
    parser.add_argument("--end", type=non_negative_number, metavar="T", help="end time in seconds")
    parser.add_argument("--batch", type=non_negative_int, default=0, metavar="B",
                        help="frames per forward pass (default: 1 on the CPU, 8 on a GPU)")
    parser.add_argument("--skip-existing", action="store_true", help="skip inputs whose outputs all exist")
    add_tracking_arguments(parser)


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    from sshvideo.tracking import TrackerSettings

    group = parser.add_argument_group("tracking", "faces as tracks: ids, boxes carried through short misses, "
                                                  "smoothed boxes (sshvideo.tracking)")
    group.add_argument("--track", action=argparse.BooleanOptionalAction, default=True,
                       help="give each face a track id and cover it through short misses (default: on); "
                            "--no-track writes each frame's detections alone")
    group.add_argument("--draw-ids", action="store_true", help="print track ids on the rendered boxes")
    group.add_argument("--track-keep", type=non_negative_number, default=0.5, metavar="S",
                       help="seconds a lost face stays covered at its predicted place (default: 0.5)")
    group.add_argument("--track-low", type=fraction, default=TrackerSettings.low_thresh, metavar="SCORE",
                       help="boxes scoring at least this (below --thresh) may continue a track, never start "
                            f"one (default: {TrackerSettings.low_thresh:g}, or --thresh if lower)")
    group.add_argument("--track-smoothing", type=non_negative_number, default=TrackerSettings.smoothing,
                       metavar="S", help="assumed box jitter, a share of the box size: higher smooths more, 0 "
                                         f"not at all (default: {TrackerSettings.smoothing:g})")
    group.add_argument("--track-min-share", type=fraction, default=TrackerSettings.min_confident_share,
                       metavar="F", help="carry boxes only for tracks detected above --thresh in at least "
                                         "this share of frames: fewer false boxes, less coverage (default: "
                                         f"{TrackerSettings.min_confident_share:g})")


def tracker_overrides(args: argparse.Namespace) -> dict:
    """``TrackerSettings.for_video`` keywords from the command line (--track-low capped at --thresh)."""
    return {"keep_seconds": args.track_keep, "low_thresh": min(args.track_low, args.thresh),
            "smoothing": args.track_smoothing, "min_confident_share": args.track_min_share}


@dataclass(frozen=True)
class Options:
    inputs: tuple[str, ...]
    detector: DetectorOptions
    annotate: AnnotateOptions
    progress: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        from sshvideo.annotate import AnnotateOptions
        from sshvideo.exporters import parse_formats

        try:
            formats = parse_formats(args.format)
        except ValueError as exc:
            raise UserError(f"--format: {exc}") from None
        if args.start is not None and args.end is not None and args.end <= args.start:
            raise UserError(f"--end ({args.end:g}) must be after --start ({args.start:g})")
        if args.draw_ids and not args.track:
            raise UserError("--draw-ids needs tracking: drop --no-track")
        settings = AnnotateOptions(out_dir=args.out, formats=formats, render=args.render, threshold=args.thresh,
                                    draw_scores=args.draw_scores, mask_scale=args.mask_scale,
                                    keep_audio=args.keep_audio, every=args.every, start=args.start, end=args.end,
                                    batch=args.batch, skip_existing=args.skip_existing, track=args.track,
                                    tracker=tracker_overrides(args) if args.track else {}, draw_ids=args.draw_ids)
        try:
            settings.tracker_settings(None)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        # With tracking the detector keeps the weak boxes that may continue a track; annotate filters.
        detector = replace(DetectorOptions.from_args(args), threshold=settings.detection_threshold)
        settings = replace(settings, detector_settings=detector.output_settings())
        return cls(tuple(args.inputs), detector, settings, show_progress(args))


def run(options: Options) -> int:
    from core.file_types import VIDEO_SUFFIXES
    from sshvideo.annotate import annotate_files, format_summary
    from training.distributed import DistInfo, shard

    out_dir = options.annotate.out_dir
    inputs, failed_specs = inputs_for_run(options.inputs, VIDEO_SUFFIXES, out_dir)
    dist = DistInfo.from_env()
    inputs = shard(inputs, dist, equal_counts=False)
    detector = options.detector.load(device=_process_device(options.detector.device, dist))
    reports = annotate_files(detector, inputs, options.annotate, progress=options.progress)
    for report in reports:
        if report.failed:
            print(f"error: {report.message}", file=sys.stderr)
    prefix = f"[rank {dist.rank}/{dist.world_size}] " if dist.enabled else ""
    print(prefix + f"device: {detector.runs_on}")
    if reports:
        print(format_summary(reports))
    failed = sum(r.failed for r in reports) + failed_specs
    if failed:
        print(f"{prefix}{failed} input(s) failed", file=sys.stderr)
    return exit_codes.FAILED_INPUTS if failed or not reports else exit_codes.OK


def _process_device(requested: str, dist) -> str:
    """Under torchrun: this process's GPU (by LOCAL_RANK), or the CPU with its share of the cores."""
    if not dist.enabled:
        return requested
    import torch

    if requested in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{dist.local_rank % torch.cuda.device_count()}"
    if requested in ("auto", "cpu"):
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", dist.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
        return "cpu"
    return requested
