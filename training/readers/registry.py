"""What a label reader is: a name, a one-line description, ``read`` and an optional ``sniff``.

Each reader module declares its ``Reader``(s); ``training.readers.READERS`` lists them, in the order
format detection tries their ``sniff``. Adding a format is one new module and one line there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training.samples import Sample


@dataclass(frozen=True)
class Reader:
    """One label format.

    Attributes:
        name: the FORMAT of ``FORMAT=PATH`` specs (and of the command line's choices).
        description: one line for help texts.
        read: ``read(path, video=None) -> list[Sample]``; ``video`` is the clip of video labels.
        sniff: ``sniff(path) -> bool``: whether ``path`` looks like this format (cheap: layout, suffix,
            first bytes); may raise ``LabelFormatError`` when the file is this kind but unreadable.
    """

    name: str
    description: str
    read: Callable[[Path, Path | None], list[Sample]]
    sniff: Callable[[Path], bool] | None = None


def first_line(path: Path, limit: int = 65536) -> str:
    """The first non-blank line within the first ``limit`` bytes of a text file ("" if none)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(limit)
    except OSError:
        return ""
    text = head.decode("utf-8", errors="replace")
    return next((line for line in text.splitlines() if line.strip()), "")
