"""Reader for the official WIDER FACE ``wider_face_*_bbx_gt.txt`` layout.

    <relative image path>
    <face count>
    x y w h blur expression illumination invalid occlusion pose     (count lines; one line of zeros if 0)

Boxes are parsed as the reference does (reference 3.6): rounded to int, x1 = max(0, x), y1 = max(0, y),
x2 = x1 + w, y2 = y1 + h; zero-size boxes are dropped (clipping to the image happens when the image is
loaded); "invalid" faces are kept as positives; zero-face images are pure negatives.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from core.file_types import is_image
from training.samples import Sample


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name the OS refuses (too long, ...) is not a file
        return False


def read_wider_labels(labels: str | Path, images_dir: str | Path, *, drop_invalid: bool = False,
                      require_images: bool = True) -> list[Sample]:
    """Parse a WIDER bbx_gt file into samples whose sources live under ``images_dir``."""
    labels, images_dir = Path(labels), Path(images_dir)
    try:
        lines = labels.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{labels}: cannot read ({exc})") from exc
    samples, i = [], 0
    while i < len(lines):
        name = lines[i].strip()
        if not name:
            i += 1
            continue
        if not is_image(name):
            raise LabelFormatError(f"{labels}:{i + 1}: expected an image path, got {name[:80]!r}")
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise LabelFormatError(f"{labels}:{i + 1}: image path must be relative and stay inside the folder")
        try:
            count = int(lines[i + 1])
        except (IndexError, ValueError):
            raise LabelFormatError(f"{labels}:{i + 2}: expected the face count after {name!r}") from None
        if count < 0:
            raise LabelFormatError(f"{labels}:{i + 2}: negative face count")
        rows = lines[i + 2: i + 2 + max(count, 1)]
        if len(rows) < max(count, 1):
            raise LabelFormatError(f"{labels}:{len(lines)}: file ends inside the faces of {name!r}")
        boxes, invalid = [], []
        for j, row in enumerate(rows[:count]):
            fields = row.split()
            try:
                x, y, w, h = (int(round(float(v))) for v in fields[:4])
                flags = [int(v) for v in fields[4:10]]
            except (ValueError, OverflowError):  # OverflowError: round(float("inf"))
                raise LabelFormatError(f"{labels}:{i + 3 + j}: expected 'x y w h' and six flags, got {row[:80]!r}") from None
            if len(fields) < 4:
                raise LabelFormatError(f"{labels}:{i + 3 + j}: expected at least 'x y w h', got {row[:80]!r}")
            x1, y1 = max(0, x), max(0, y)
            if w < 1 or h < 1:
                continue  # zero-size box: dropped (the reference leaves a harmless zero row)
            is_invalid = len(flags) >= 4 and flags[3] == 1
            if drop_invalid and is_invalid:
                continue
            boxes.append((x1, y1, x1 + w, y1 + h))
            invalid.append(is_invalid)
        path = images_dir / name
        if require_images and not _is_file(path):
            raise LabelFormatError(f"{labels}:{i + 1}: image not found: {path}")
        samples.append(Sample(path, np.array(boxes, dtype=np.float32).reshape(-1, 4),
                              invalid=np.array(invalid, dtype=bool)))
        i += 2 + max(count, 1)
    return samples


def read_wider_folder(folder: str | Path, **kwargs) -> list[Sample]:
    """A folder laid out as ``images/<event>/<name>.jpg`` plus ``labels.txt`` (or the official
    ``wider_face_split/wider_face_{train,val}_bbx_gt.txt`` next to ``WIDER_{train,val}/images``)."""
    folder = Path(folder)
    if (folder / "labels.txt").is_file():
        return read_wider_labels(folder / "labels.txt", folder / "images", **kwargs)
    for split in ("train", "val"):
        gt = folder.parent / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt"
        if folder.name == f"WIDER_{split}" and gt.is_file():
            return read_wider_labels(gt, folder / "images", **kwargs)
    raise LabelFormatError(f"{folder}: no labels.txt (or official wider_face_split/ next to WIDER_train/val)")
