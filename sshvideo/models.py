"""Finding and loading the detector: the embedded default model or a user checkpoint."""
from __future__ import annotations

from pathlib import Path

from core.checkpoint import CheckpointError
from core.errors import UserError
from core.inference import Detector

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "core" / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "ssh_lite_wider.pt"


def default_weights() -> Path | None:
    """The embedded default checkpoint, or None if this installation has none."""
    return DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else None


def parse_size(text: str | None) -> tuple[int | None, int | None] | None:
    """"SHORT:MAX" -> (short, max); "native" or "0:MAX" keeps the native size (capped by MAX)."""
    if text is None:
        return None
    if text == "native":
        return None, None
    try:
        short, long = (int(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--size must be SHORT:MAX (e.g. 1200:1600) or 'native', got {text!r}") from None
    if short < 0 or long < 0:
        raise UserError(f"--size values must be positive, got {text!r}")
    return (short or None), (long or None)


def load_detector(weights: str | Path | None, *, device: str = "auto", threshold: float | None = None,
                  size: str | None = None, pyramid: bool = False, backend: str = "auto") -> Detector:
    """Build a Detector for the CLI/GUI; every failure is a ``UserError`` with a clear message."""
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
    if threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise UserError(f"--thresh must be within [0, 1], got {threshold}")
        # Thresholding before NMS keeps exactly the boxes above it (only a higher box can suppress one);
        # with box voting only those boxes vote, which moves the averaged boxes by a pixel or so.
        overrides["score_threshold"] = threshold
    try:
        return Detector.from_checkpoint(weights, device=device, backend=backend, **overrides)
    except CheckpointError as exc:
        raise UserError(str(exc)) from exc
    except ValueError as exc:  # unavailable device or backend
        raise UserError(str(exc)) from exc
