"""argparse types shared by the command lines (``sshvideo``, ``python -m training.release``)."""
from __future__ import annotations

import argparse


def fraction(text: str) -> float:
    """A number in [0, 1] (thresholds, probabilities)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text!r}")
    return value
