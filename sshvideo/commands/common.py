"""Options shared by several commands: the detector (weights, device, backend, threshold, size) and
progress bars. Each group has an ``add_*_arguments(parser)`` and a frozen dataclass built from the
parsed arguments once."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from training.arg_types import detection_size, fraction, positive_number


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
    parser.add_argument("--max-megapixels", metavar="MP", type=positive_number,
                        help="larger frames are detected downscaled to this many megapixels, whatever --size says "
                             "(bounds memory; default: 16.8, i.e. 4096x4096)")


@dataclass(frozen=True)
class DetectorOptions:
    """Which detector to build and how it runs. ``threshold`` None keeps the checkpoint's own."""

    weights: Path | None = None
    device: str = "auto"
    backend: str = "auto"
    threshold: float | None = None
    size: tuple[int | None, int | None] | None = None
    pyramid: bool = False
    max_pixels: int | None = None  # None: the checkpoint's cap (InferenceConfig.max_pixels)

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, threshold: float | None = None) -> "DetectorOptions":
        return cls(weights=args.weights, device=args.device, backend=args.backend,
                   threshold=getattr(args, "thresh", threshold), size=args.size,
                   pyramid=getattr(args, "pyramid", False), max_pixels=_pixels(getattr(args, "max_megapixels", None)))

    def output_settings(self) -> dict:
        """What of this decides the detections (recorded with outputs; device and backend do not)."""
        weights = self.weights if self.weights is not None else "embedded"
        return {"weights": str(weights), "weights_bytes": _size_of(self.weights), "size": self.size,
                "pyramid": self.pyramid, "max_pixels": self.max_pixels}

    def load(self, *, device: str | None = None):
        """The ``core.inference.Detector``; every failure is a ``UserError`` naming the cause."""
        from sshvideo.models import load_detector

        return load_detector(self.weights, device=device or self.device, threshold=self.threshold, size=self.size,
                             pyramid=self.pyramid, backend=self.backend, max_pixels=self.max_pixels)


def _pixels(megapixels: float | None) -> int | None:
    return None if megapixels is None else max(1, round(megapixels * 1e6))


def _size_of(weights: Path | None) -> int | None:
    """The checkpoint's size in bytes: a cheap fingerprint that changes when it is retrained."""
    from core.weights import default_weights

    path = weights if weights is not None else default_weights()
    try:
        return path.stat().st_size if path is not None else None
    except OSError:
        return None


def inputs_for_run(specs: tuple[str, ...], suffixes: tuple[str, ...], out_dir: Path):
    """The inputs of a run writing into ``out_dir``, and how many specs failed: temporaries left there by
    a killed run are removed first, the output folder is never an input, and every problem is printed."""
    from core.atomic import remove_stale_partials
    from sshvideo.inputs import expand_inputs

    for leftover in remove_stale_partials(out_dir):
        print(f"removed {leftover}: left by an interrupted run", file=sys.stderr)
    inputs, problems = expand_inputs(list(specs), suffixes, exclude=(out_dir,))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return inputs, len(problems)
