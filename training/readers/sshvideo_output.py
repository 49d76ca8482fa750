"""Our own detection output as training labels: ``annotate`` JSON Lines (video) or ``detect`` JSON Lines
(images). Lets a user auto-label, correct (e.g. in CVAT) and retrain; boxes below ``min_score`` are dropped."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from training.readers.checks import checked_box
from training.samples import Sample


def _faces(record: dict, where: str, min_score: float, w, h) -> np.ndarray:
    boxes = []
    faces = record.get("faces")
    if not isinstance(faces, list):
        raise LabelFormatError(f"{where}: 'faces' must be a list")
    for face in faces:
        try:
            x1, y1, x2, y2 = (float(v) for v in face["box"])
            score = float(face.get("score", 1.0))
        except (TypeError, KeyError, ValueError):
            raise LabelFormatError(f"{where}: each face needs 'box': [x1, y1, x2, y2]") from None
        if score >= min_score:
            boxes.append(checked_box(x1, y1, x2, y2, w, h, where))
    return np.array(boxes, np.float32).reshape(-1, 4)


def read_sshvideo_jsonl(path: str | Path, video: str | Path | None = None, min_score: float = 0.5) -> list[Sample]:
    path = Path(path)
    samples, header = [], None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelFormatError(f"{path}:{n}: malformed JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise LabelFormatError(f"{path}:{n}: expected a JSON object")
        where = f"{path}:{n}"
        if record.get("sshvideo") == "detections":
            header = record
            continue
        if "image" in record:
            samples.append(Sample(Path(record["image"]), _faces(record, where, min_score, record.get("width"),
                                                                 record.get("height"))))
        elif "frame" in record:
            if header is None and video is None:
                raise LabelFormatError(f"{where}: frame record before the header line (which names the video)")
            source = Path(video) if video else Path(header["source"])
            frame = record["frame"]
            if not isinstance(frame, int) or frame < 0:
                raise LabelFormatError(f"{where}: 'frame' must be a non-negative integer")
            samples.append(Sample(source, _faces(record, where, min_score, header.get("width") if header else None,
                                                 header.get("height") if header else None), frame_index=frame))
        else:
            raise LabelFormatError(f"{where}: neither an 'image' nor a 'frame' record")
    if not samples:
        raise LabelFormatError(f"{path}: no records")
    return samples
