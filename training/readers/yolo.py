"""YOLO txt: one ``class cx cy w h`` line per object, normalised to [0, 1]; class 0 is the face class.

Layouts: ``root/images/*.jpg`` with ``root/labels/*.txt`` (same stems), or ``.txt`` next to each image.
An image without a label file has no faces.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import LabelFormatError
from core.file_types import IMAGE_SUFFIXES
from training.readers.checks import checked_box
from training.readers.registry import Reader
from training.samples import Sample


def read_yolo(root: str | Path, face_class: int = 0) -> list[Sample]:
    root = Path(root)
    images_dir = root / "images" if (root / "images").is_dir() else root
    labels_dir = root / "labels" if (root / "labels").is_dir() else None
    images = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise LabelFormatError(f"{root}: no images found for the YOLO layout")
    samples = []
    for image in images:
        rel = image.relative_to(images_dir).with_suffix(".txt")
        label = labels_dir / rel if labels_dir else image.with_suffix(".txt")
        boxes = []
        if label.is_file():
            pixels = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)  # the size un-normalises the boxes
            if pixels is None:
                raise LabelFormatError(f"{image}: unreadable image")
            h, w = pixels.shape[:2]
            try:
                text = label.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LabelFormatError(f"{label}: cannot read ({exc})") from exc
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                fields = line.split()
                try:
                    cls = int(float(fields[0]))
                    cx, cy, bw, bh = (float(v) for v in fields[1:5])
                except (ValueError, IndexError, OverflowError):  # OverflowError: int(float("inf"))
                    raise LabelFormatError(f"{label}:{n}: expected 'class cx cy w h', got {line[:80]!r}") from None
                if len(fields) < 5:
                    raise LabelFormatError(f"{label}:{n}: expected 'class cx cy w h'")
                if cls != face_class:
                    continue
                if not all(-0.01 <= v <= 1.01 for v in (cx, cy, bw, bh)):
                    raise LabelFormatError(f"{label}:{n}: YOLO values must be normalised to [0, 1]")
                boxes.append(checked_box((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h,
                                         w, h, f"{label}:{n}"))
        samples.append(Sample(image, np.array(boxes, np.float32).reshape(-1, 4)))
    return samples


def _read(path: Path, video: Path | None = None) -> list[Sample]:
    return read_yolo(path)


def _sniff(path: Path) -> bool:
    return path.is_dir() and (path / "labels").is_dir() and (path / "images").is_dir()


READER = Reader("yolo", "YOLO txt: a folder with images/ and labels/ (class 0 = face)", _read, _sniff)
