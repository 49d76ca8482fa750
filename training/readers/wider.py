"""The WIDER FACE label layout as a registered reader (the parser itself is ``training.wider``)."""
from __future__ import annotations

from pathlib import Path

from core.file_types import is_image
from training.readers.registry import Reader, first_line
from training.samples import Sample
from training.wider import read_wider_folder, read_wider_labels


def read(path: Path, video: Path | None = None) -> list[Sample]:
    path = Path(path)
    return read_wider_folder(path) if path.is_dir() else read_wider_labels(path, path.parent / "images")


def sniff(path: Path) -> bool:
    if path.is_dir():
        return (path / "labels.txt").is_file() or path.name in ("WIDER_train", "WIDER_val")
    return path.suffix.lower() == ".txt" and is_image(first_line(path).strip())


READER = Reader("wider", "WIDER FACE bbx_gt text: a folder with labels.txt and images/, or the .txt file",
                read, sniff)
