"""argparse types shared by the command lines (``sshvideo``, ``python -m training.release``).

Each parses one option's text into a typed value or raises ``argparse.ArgumentTypeError``, which
argparse reports as a usage error naming the option (exit code 2). NaN and infinities are refused
everywhere: no option of this project means anything at NaN.
"""
from __future__ import annotations

import argparse
import math


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def fraction(text: str) -> float:
    """A number in [0, 1] (thresholds, probabilities)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    """A finite number ≥ 0 (times in seconds)."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number > 0 (learning rates, frame rates)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return value


def at_least(minimum: float):
    """A finite number ≥ ``minimum`` (e.g. a mask scale that must cover the whole face)."""
    def parse(text: str) -> float:
        value = _number(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text!r}")
        return value
    parse.__name__ = f"number ≥ {minimum:g}"
    return parse


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def crop_scales(text: str) -> tuple[float, ...]:
    """Comma-separated square-crop sides as fractions of the short side, each in (0, 2] (> 1 zooms out)."""
    scales = tuple(_number(part) for part in text.split(","))
    if not all(0 < s <= 2 for s in scales):
        raise argparse.ArgumentTypeError(f"crop scales must lie in (0, 2], got {text!r}")
    return scales


def detection_size(text: str) -> tuple[int | None, int | None]:
    """"SHORT:MAX" -> (short, max) in pixels; "native" -> (None, None); a 0 leaves that side free."""
    if text == "native":
        return None, None
    parts = text.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"must be SHORT:MAX (e.g. 1200:1600) or 'native', got {text!r}")
    short, long = (_whole(p) for p in parts)
    if short < 0 or long < 0:
        raise argparse.ArgumentTypeError(f"sizes must be 0 or more, got {text!r}")
    return (short or None), (long or None)
