"""Finding and loading the detector: the embedded default model or a user checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import UserError
from core.inference import Detector
from core.weights import default_weights
from training.arg_types import detection_size


def parse_size(size: str | tuple[int | None, int | None] | None) -> tuple[int | None, int | None] | None:
    """"SHORT:MAX" -> (short, max); "native" or "0:MAX" keeps the native size (capped by MAX); a parsed
    tuple passes through."""
    if size is None or isinstance(size, tuple):
        return size
    try:
        return detection_size(size)
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"--size {exc}") from None


def load_detector(weights: str | Path | None, *, device: str = "auto", threshold: float | None = None,
                  size: str | tuple[int | None, int | None] | None = None, pyramid: bool = False,
                  backend: str = "auto", max_pixels: int | None = None) -> Detector:
    """Build a Detector for the CLI/GUI; every failure is a ``UserError`` with a clear message.

    ``size``: "SHORT:MAX", "native" or its parsed tuple (``training.arg_types.detection_size``); None
    keeps the checkpoint's own setting."""
    if weights is None:
        weights = default_weights()
        if weights is None:
            raise UserError("no embedded model in this installation: pass --weights CHECKPOINT "
                            "(train one with 'sshvideo train')")
    overrides = {}
    sizes = parse_size(size)
    if sizes is not None:
        overrides.update(short_side=sizes[0], max_side=sizes[1])
    if pyramid:
        overrides["pyramid"] = True
    if max_pixels is not None:
        overrides["max_pixels"] = max_pixels
    if threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise UserError(f"--thresh must be within [0, 1], got {threshold}")
        # Thresholding before NMS keeps exactly the boxes above it (only a higher box can suppress one);
        # with box voting only those boxes vote, which moves the averaged boxes by a pixel or so.
        overrides["score_threshold"] = threshold
    # A bad checkpoint, device, backend or setting raises the project's own error, naming it.
    return Detector.from_checkpoint(weights, device=device, backend=backend, **overrides)
