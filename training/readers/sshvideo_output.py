"""Our own detection output as training labels: ``annotate`` JSON Lines (video) or ``detect`` JSON Lines
(images). Lets a user auto-label, correct (e.g. in CVAT) and retrain; boxes below ``min_score`` are dropped."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from training.readers.checks import checked_box, image_size, parse_json
from training.readers.registry import Reader
from training.samples import Sample


def _faces(record: dict, where: str, min_score: float, w, h) -> np.ndarray:
    boxes = []
    faces = record.get("faces")
    if not isinstance(faces, list):
        raise LabelFormatError(f"{where}: 'faces' must be a list")
    for face in faces:
        if not isinstance(face, dict):
            raise LabelFormatError(f"{where}: each face must be an object with 'box': [x1, y1, x2, y2]")
        try:
            x1, y1, x2, y2 = (float(v) for v in face["box"])
            score = float(face.get("score", 1.0))
        except (TypeError, KeyError, ValueError, OverflowError):
            raise LabelFormatError(f"{where}: each face needs 'box': [x1, y1, x2, y2]") from None
        if not math.isfinite(score):
            raise LabelFormatError(f"{where}: a face's score is not finite")
        if score >= min_score:
            boxes.append(checked_box(x1, y1, x2, y2, w, h, where))
    return np.array(boxes, np.float32).reshape(-1, 4)


def _file_name(value, where: str, name: str) -> Path:
    if not isinstance(value, str) or not value or "\0" in value:
        raise LabelFormatError(f"{where}: {name!r} must be a file name, got {value!r:.80}")
    return Path(value)


def read_sshvideo_jsonl(path: str | Path, video: str | Path | None = None, min_score: float = 0.5) -> list[Sample]:
    path = Path(path)
    samples, header, header_size = [], None, (None, None)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        record = parse_json(line, path, n)
        if not isinstance(record, dict):
            raise LabelFormatError(f"{where}: expected a JSON object")
        if record.get("sshvideo") == "detections":
            header = record
            header_size = (image_size(record.get("width"), where, "width"),
                           image_size(record.get("height"), where, "height"))
            if video is None:
                _file_name(record.get("source"), where, "source")
            continue
        if "image" in record:
            samples.append(Sample(_file_name(record["image"], where, "image"),
                                  _faces(record, where, min_score, image_size(record.get("width"), where, "width"),
                                         image_size(record.get("height"), where, "height"))))
        elif "frame" in record:
            if header is None and video is None:
                raise LabelFormatError(f"{where}: frame record before the header line (which names the video)")
            source = Path(video) if video else Path(header["source"])
            frame = record["frame"]
            if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
                raise LabelFormatError(f"{where}: 'frame' must be a non-negative integer")
            samples.append(Sample(source, _faces(record, where, min_score, *header_size), frame_index=frame))
        else:
            raise LabelFormatError(f"{where}: neither an 'image' nor a 'frame' record")
    if not samples:
        raise LabelFormatError(f"{path}: no records")
    return samples


def _read(path: Path, video: Path | None = None) -> list[Sample]:
    return read_sshvideo_jsonl(path, video)


def _sniff(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".jsonl"


READER = Reader("sshvideo", "sshvideo's own JSON Lines output (annotate or detect)", _read, _sniff)
