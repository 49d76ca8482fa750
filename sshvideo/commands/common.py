"""Options shared by several commands: the detector (weights, device, backend, threshold, size) and
progress bars. Each group has an ``add_*_arguments(parser)`` and a frozen dataclass built from the
parsed arguments once."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from training.arg_types import detection_size, fraction


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on an interactive terminal unless ``--quiet``; ``SSHVIDEO_PROGRESS=1`` forces them."""
    return not args.quiet and sys.stderr.isatty() or os.environ.get("SSHVIDEO_PROGRESS") == "1"


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    from core.inference import BACKENDS

    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps "
                                                         "(default: auto)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="what runs the network on the CPU: onnxruntime (faster) or torch; auto takes "
                             "onnxruntime when installed (default: auto; GPUs always use torch)")


def add_detector_arguments(parser: argparse.ArgumentParser, default_threshold: float | None,
                           threshold_help: str = "minimum face score to report") -> None:
    parser.add_argument("--weights", metavar="CKPT", type=Path,
                        help="checkpoint to use (default: the embedded model)")
    add_device_arguments(parser)
    if default_threshold is not None:
        parser.add_argument("--thresh", "-t", type=fraction, default=default_threshold,
                            help=f"{threshold_help} (default: {default_threshold})")
    parser.add_argument("--size", metavar="SHORT:MAX", type=detection_size,
                        help="detection size: short side SHORT, long side at most MAX ('native' = the frame's own "
                             "size); default: the checkpoint's own setting")


@dataclass(frozen=True)
class DetectorOptions:
    """Which detector to build and how it runs. ``threshold`` None keeps the checkpoint's own."""

    weights: Path | None = None
    device: str = "auto"
    backend: str = "auto"
    threshold: float | None = None
    size: tuple[int | None, int | None] | None = None
    pyramid: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, threshold: float | None = None) -> "DetectorOptions":
        return cls(weights=args.weights, device=args.device, backend=args.backend,
                   threshold=getattr(args, "thresh", threshold), size=args.size,
                   pyramid=getattr(args, "pyramid", False))

    def load(self, *, device: str | None = None):
        """The ``core.inference.Detector``; every failure is a ``UserError`` naming the cause."""
        from sshvideo.models import load_detector

        return load_detector(self.weights, device=device or self.device, threshold=self.threshold, size=self.size,
                             pyramid=self.pyramid, backend=self.backend)
