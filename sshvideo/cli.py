"""The ``sshvideo`` command line: detect, annotate, view, train, eval, devices.

Sub-commands import their heavy parts lazily, so ``sshvideo annotate`` starts fast and works
without a display, and ``sshvideo --version`` needs neither torch nor Qt.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from core.errors import UserError
from sshvideo import __version__
from training.arg_types import fraction

EXIT_OK, EXIT_FAILED_INPUTS, EXIT_USAGE = 0, 1, 2


def _crop_scales(text: str) -> tuple[float, ...]:
    """argparse type of --crop-scales: comma-separated positive fractions, at most 2 (> 1 zooms out)."""
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not all(0 < s <= 2 for s in scales):
        raise argparse.ArgumentTypeError(f"crop scales must lie in (0, 2], got {text!r}")
    return scales


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


NETWORK_BACKENDS = ("auto", "torch", "onnxruntime")  # core.inference.BACKENDS, without importing torch here
BOX_NORMALISERS = ("sampled", "positives")  # training.loss.BOX_NORMALISERS, without importing torch here


def _add_backend_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=NETWORK_BACKENDS, default="auto",
                   help="what runs the network on the CPU: onnxruntime (faster) or torch; auto takes "
                        "onnxruntime when installed (default: auto; GPUs always use torch)")


def _add_model_args(p: argparse.ArgumentParser, default_thresh: float) -> None:
    p.add_argument("--weights", metavar="CKPT", help="checkpoint to use (default: the embedded model)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps "
                                                    "(default: auto)")
    _add_backend_arg(p)
    p.add_argument("--thresh", "-t", type=float, default=default_thresh,
                   help=f"minimum face score to report (default: {default_thresh})")
    p.add_argument("--size", metavar="SHORT:MAX",
                   help="detection size: short side SHORT, long side at most MAX ('native' = the frame's own "
                        "size); default: the checkpoint's own setting")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sshvideo", description="SSH face detection for images, video files, "
                                     "streams and webcams.")
    parser.add_argument("--version", action="version", version=f"sshvideo {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("detect", help="detect faces in images (WIDER-format files + JSON Lines)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or globs")
    p.add_argument("--out", "-o", default="detections", help="output folder (default: ./detections)")
    _add_model_args(p, 0.5)
    p.add_argument("--pyramid", action="store_true", help="the paper's 4-level image pyramid (slower, "
                                                          "more small faces)")
    p.add_argument("--draw", action="store_true", help="also write annotated images to OUT/annotated/")
    p.add_argument("--draw-scores", action="store_true", help="print the score above each drawn box")

    p = sub.add_parser("annotate", help="detect faces in videos: detection files and/or a rendered video")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, folders (recursive) or globs")
    p.add_argument("--out", "-o", default="annotated", help="output folder (default: ./annotated)")
    _add_model_args(p, 0.5)
    p.add_argument("--format", default="jsonl", help="comma-separated: jsonl, csv, mot, cvat (default: jsonl)")
    p.add_argument("--render", default="none", choices=["none", "boxes", "blur", "mosaic", "solid"],
                   help="rendered video: boxes coloured by score, or faces hidden (default: none)")
    p.add_argument("--draw-scores", action="store_true", help="print scores on the rendered boxes")
    p.add_argument("--mask-scale", type=float, default=1.3, help="grow hidden areas by this factor (default 1.3)")
    p.add_argument("--keep-audio", "-k", action="store_true", help="copy the audio stream into the rendered video")
    p.add_argument("--every", type=int, default=1, metavar="N", help="detect on every N-th frame; rendered "
                   "frames in between reuse the last detections (default: 1)")
    p.add_argument("--start", type=float, metavar="T", help="start time in seconds")
    p.add_argument("--end", type=float, metavar="T", help="end time in seconds")
    p.add_argument("--batch", type=int, default=0, metavar="B", help="frames per forward pass (default: 1 on "
                   "the CPU, 8 on a GPU)")
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose outputs all exist")

    p = sub.add_parser("view", help="open the desktop viewer on a camera, file or stream")
    p.add_argument("source", nargs="?", help="camera index or name, video file or URL (default: the default "
                                             "camera, else the bundled sample clip)")
    _add_model_args(p, 0.5)
    p.add_argument("--video-size", metavar="WxH", help="camera capture size, e.g. 1280x720")
    p.add_argument("--fps", type=float, help="camera frame rate, e.g. 30")
    p.add_argument("--pixel-format", help="camera pixel format, e.g. mjpeg (v4l2) or nv12 (avfoundation)")

    p = sub.add_parser("devices", help="list cameras and compute devices")

    p = sub.add_parser("train", help="train or fine-tune SSH (see README: Training)")
    p.add_argument("--model", default="ssh_lite", choices=["ssh_vgg16", "ssh_lite"],
                   help="architecture and its built-in recipe (default: ssh_lite)")
    p.add_argument("--data", action="append", required=True, metavar="[FORMAT=]PATH",
                   help="training labels; repeat to mix sources. FORMAT: wider, coco, yolo, voc, cvat-images, "
                        "cvat-video, mot, sshvideo (auto-detected when omitted)")
    p.add_argument("--video", action="append", default=[], metavar="PATH",
                   help="video the cvat-video/mot labels refer to (when not next to them)")
    p.add_argument("--val", metavar="DIR", help="WIDER-layout validation folder for periodic AP")
    p.add_argument("--val-gt", metavar="DIR", help="folder with the official wider_*_val.mat files (with --val)")
    p.add_argument("--out", "-o", required=True, help="run folder: checkpoints and logs")
    p.add_argument("--resume", metavar="CKPT", help="continue a run (its --steps may be raised to extend it)")
    p.add_argument("--init-from", metavar="CKPT", help="fine-tune from these weights")
    p.add_argument("--backbone-weights", metavar="torchvision|PATH",
                   help="ssh_vgg16: ImageNet VGG-16 from torchvision (online) or a local .pth")
    p.add_argument("--mix-wider", metavar="DIR", help="fine-tuning: mix in WIDER images from this folder so "
                                                      "the detector does not forget")
    p.add_argument("--mix-ratio", type=float, default=0.5, help="share of WIDER images when mixing (default 0.5)")
    for name, typ, hlp in (("steps", int, "optimiser steps"), ("batch-size", int, "images per step, all processes"),
                           ("accumulation", int, "micro-batches per step"), ("lr", float, "learning rate at the "
                           "recipe's reference batch (scaled linearly)"), ("workers", int, "data loader processes"),
                           ("crop-size", int, "crop recipe: training image side"),
                           ("warmup-steps", int, "steps of linear LR warm-up"),
                           ("eval-every", int, "steps between validations"),
                           ("checkpoint-every", int, "steps between checkpoints"),
                           ("eval-max-images", int, "validate on at most this many images"),
                           ("seed", int, "random seed")):
        p.add_argument(f"--{name}", type=typ, help=f"{hlp} (default: the recipe's)")
    p.add_argument("--crop-scales", type=_crop_scales, metavar="S1,S2,...",
                   help="crop recipe: square crop sides as fractions of the image's short side, drawn uniformly; "
                        "above 1 zooms out onto a black canvas (default: the recipe's, 0.3,0.45,0.6,0.8,1.0)")
    p.add_argument("--border-bands", type=fraction, metavar="P",
                   help="crop recipe: share of crops shrunk inside random edge bands (replicated or flat colour, up "
                        "to 20%% of the side), like letterboxed footage (default: the recipe's, 0)")
    p.add_argument("--mosaic", type=fraction, metavar="P",
                   help="crop recipe: share of training images that are 2×2 mosaics of four half-size crops of "
                        "different images (more scenes per image, faces nearer the test scale; default: 0)")
    p.add_argument("--occlusion", type=fraction, metavar="P",
                   help="crop recipe: chance that each face gets a synthetic occluder over its lower part or one "
                        "side (masks, scarves, hands; default: 0)")
    p.add_argument("--degrade", type=fraction, metavar="P",
                   help="crop recipe: share of crops blurred, darkened with sensor noise or JPEG-compressed "
                        "(default: 0)")
    p.add_argument("--allowed-border", type=_non_negative_int, metavar="PX",
                   help="train anchors reaching up to PX pixels outside the image, in every module (default: the "
                        "recipe's: ssh_lite 512; ssh_vgg16 each module's own as in the reference, M1/M2 0 and M3 "
                        "512, which leaves M1/M2 anchors at the image edge untrained)")
    p.add_argument("--box-normaliser", choices=BOX_NORMALISERS,
                   help="what divides the box-regression loss: the number of sampled anchors (the reference "
                        "code) or of positives (the paper's eq. 1, a 4-256x heavier box term; default: the "
                        "recipe's, sampled)")
    p.add_argument("--log-every", type=int, default=20, help="steps between log lines (default 20)")
    p.add_argument("--augment", choices=["paper", "crop"], help="paper: flip + fixed scale; crop: random square "
                   "crops, flips, colour jitter (default: the recipe's)")
    p.add_argument("--device", default="auto")

    p = sub.add_parser("eval", help="WIDER FACE easy/medium/hard AP, or AP@0.5 on a custom set")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pred", metavar="DIR", help="WIDER prediction files (<event>/<image>.txt)")
    src.add_argument("--weights", metavar="CKPT", help="detect with this checkpoint first")
    p.add_argument("--gt", metavar="DIR", help="folder with wider_face_val.mat and wider_{easy,medium,hard}_val.mat")
    p.add_argument("--images", metavar="DIR", help="restrict to the images in DIR/<event>/ (and detect them with "
                                                   "--weights)")
    p.add_argument("--labels", metavar="[FORMAT=]PATH", help="custom set: AP@0.5 against these labels")
    p.add_argument("--out", "-o", help="write pr_curves.json and pr_curves.png here")
    p.add_argument("--size", metavar="SHORT:MAX", help="with --weights: detection size")
    p.add_argument("--pyramid", action="store_true", help="with --weights: the paper's pyramid")
    p.add_argument("--device", default="auto")
    _add_backend_arg(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    handlers = {"detect": _cmd_detect, "annotate": _cmd_annotate, "view": _cmd_view, "devices": _cmd_devices,
                "train": _cmd_train, "eval": _cmd_eval}
    try:
        return handlers[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _progress(args) -> bool:
    return not args.quiet and sys.stderr.isatty() or os.environ.get("SSHVIDEO_PROGRESS") == "1"


def _cmd_detect(args) -> int:
    from sshvideo.detect_images import detect_images
    from sshvideo.inputs import IMAGE_SUFFIXES, expand_inputs
    from sshvideo.models import load_detector

    inputs, problems = expand_inputs(args.inputs, IMAGE_SUFFIXES)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not inputs:
        print("error: no images to process", file=sys.stderr)
        return EXIT_FAILED_INPUTS
    detector = load_detector(args.weights, device=args.device, threshold=args.thresh, size=args.size,
                             pyramid=args.pyramid, backend=args.backend)
    summary = detect_images(detector, inputs, Path(args.out), threshold=args.thresh, draw=args.draw,
                            draw_scores=args.draw_scores, progress=_progress(args),
                            report=lambda m: print(m, file=sys.stderr))
    failed = summary.failed + len(problems)
    print(f"{summary.images} images, {summary.faces} faces, {failed} failed, {summary.seconds:.1f} s "
          f"on {detector.runs_on} -> {args.out}")
    return EXIT_FAILED_INPUTS if failed else EXIT_OK


def _cmd_annotate(args) -> int:
    from sshvideo.annotate import run_annotate_command

    return run_annotate_command(args, progress=_progress(args))


def _cmd_view(args) -> int:
    from gui.app import run_viewer

    return run_viewer(args)


def _cmd_devices(args) -> int:
    import torch

    from core.onnx_backend import onnxruntime_available
    from sshvideo.sources import list_cameras

    print("compute devices:")
    runner = "onnxruntime" if onnxruntime_available() else "torch (pip install onnxruntime onnx: faster)"
    print(f"  cpu ({torch.get_num_threads()} threads, {runner})")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            print(f"  cuda:{i} {torch.cuda.get_device_name(i)}")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        print("  mps")
    cams = list_cameras()
    print("cameras:" if cams else "cameras: none found")
    for cam in cams:
        print(f"  {cam.source!r}  {cam.name}")
    return EXIT_OK


def _cmd_train(args) -> int:
    from sshvideo.train_command import run_train_command

    return run_train_command(args, progress=_progress(args))


def _cmd_eval(args) -> int:
    from sshvideo.eval_command import run_eval_command

    return run_eval_command(args)


if __name__ == "__main__":
    sys.exit(main())
