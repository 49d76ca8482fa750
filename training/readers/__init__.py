"""Label readers: every supported format becomes a list of ``Sample``.

``read_labels("path")`` guesses the format; ``read_labels("coco=path")`` names it. The formats are
the entries of ``READERS`` (name -> ``Reader``: ``read``, ``sniff``, ``description``); detection tries
their ``sniff`` in this order. A new format is one new module declaring a ``Reader`` plus one line here.
"""
from __future__ import annotations

from pathlib import Path

from core.errors import LabelFormatError
from training.readers import coco, cvat, mot, sshvideo_output, voc, wider, yolo
from training.readers.registry import Reader
from training.samples import Sample

READERS: dict[str, Reader] = {
    "wider": wider.READER,
    "coco": coco.READER,
    "yolo": yolo.READER,
    "voc": voc.READER,
    "cvat-images": cvat.IMAGES_READER,
    "cvat-video": cvat.VIDEO_READER,
    "mot": mot.READER,
    "sshvideo": sshvideo_output.READER,
}
assert all(name == reader.name for name, reader in READERS.items())

FORMATS = tuple(READERS)  # kept for callers that want the names only


def reader_names() -> list[str]:
    """The label format names, in detection order (for command-line choices and help)."""
    return list(READERS)


def detect_format(path: Path) -> str:
    """Guess the label format of ``path``: the first reader whose ``sniff`` recognises it."""
    path = Path(path)
    if not path.exists():
        raise LabelFormatError(f"{path}: no such file or folder")
    for name, reader in READERS.items():
        if reader.sniff is not None and reader.sniff(path):
            return name
    what = "this folder" if path.is_dir() else "this file"
    raise LabelFormatError(f"{path}: cannot tell the label format of {what}; write FORMAT={path} with FORMAT one "
                           f"of {', '.join(READERS)}")


def read_labels(spec: str, video: str | Path | None = None) -> list[Sample]:
    """Samples from a ``[FORMAT=]PATH`` spec (``video``: the clip for cvat-video/mot/sshvideo labels)."""
    fmt, sep, rest = spec.partition("=")
    if sep and fmt in READERS:
        path = Path(rest)
    else:
        fmt, path = None, Path(spec)
    if not path.exists():
        raise LabelFormatError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    return READERS[fmt].read(path, Path(video) if video else None)


__all__ = ["FORMATS", "READERS", "LabelFormatError", "Reader", "Sample", "detect_format", "read_labels",
           "reader_names"]
