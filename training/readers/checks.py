"""Validation shared by the readers: boxes must be finite, non-empty and overlap their image; JSON and
image sizes are parsed into the project's own errors."""
from __future__ import annotations

import json
import math

import numpy as np

from core.errors import LabelFormatError


def checked_box(x1: float, y1: float, x2: float, y2: float, width: float | None, height: float | None,
                where: str) -> tuple[float, float, float, float]:
    """Clip a box (xyxy, x2 = x + w) to the image; reject empty, inverted or fully outside boxes."""
    values = np.array([x1, y1, x2, y2], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise LabelFormatError(f"{where}: box coordinates are not finite")
    if x2 <= x1 or y2 <= y1:
        raise LabelFormatError(f"{where}: empty or inverted box ({x1:g}, {y1:g}, {x2:g}, {y2:g})")
    if width is not None and height is not None:
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            raise LabelFormatError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies outside the "
                                   f"{width:g}×{height:g} image")
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    return x1, y1, x2, y2


def parse_json(text: str, path, line: int | None = None):
    """``json.loads`` whose every failure is a ``LabelFormatError`` naming ``path`` and the line.

    ``line``: the line of ``path`` that ``text`` is (JSON Lines); None when ``text`` is the whole file.
    Besides malformed text this covers nesting too deep for the parser (``RecursionError``) and
    integers longer than Python converts (``ValueError``)."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lineno = exc.lineno if line is None else line + exc.lineno - 1
        raise LabelFormatError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise LabelFormatError(f"{where}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer beyond sys.get_int_max_str_digits()
        raise LabelFormatError(f"{where}: unreadable JSON value ({exc})") from None


def image_size(value, where: str, name: str) -> float | None:
    """A positive finite image width or height from JSON, or None when absent (null, 0 or missing)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise LabelFormatError(f"{where}: {name!r} must be a number, got {value!r:.40}")
    try:
        size = float(value)
    except (ValueError, OverflowError):
        raise LabelFormatError(f"{where}: {name!r} must be a number, got {value!r:.40}") from None
    if not math.isfinite(size) or size < 0:
        raise LabelFormatError(f"{where}: {name!r} must be a positive finite number, got {value!r:.40}")
    return size or None


def is_file(path) -> bool:
    """``Path.is_file`` for names taken from a label file: a name the OS refuses (too long, ...) is
    simply not a file, rather than an ``OSError``."""
    try:
        return path.is_file()
    except OSError:
        return False
