"""MOTChallenge 1.1 text (``frame,id,x,y,w,h,conf,...``, 1-based frames).

Works for ground truth (rows with conf 0 are "ignore" entries and skipped) and for detections
(our ``annotate --format mot``: id -1, conf = score, kept when ≥ ``min_score``). Frames come from
a MOTChallenge sequence folder (``img1/000001.jpg``) or from a video.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from core.file_types import is_video
from training.readers.checks import checked_box
from training.readers.registry import Reader, first_line
from training.samples import Sample
from training.video_frames import count_video_frames


def read_mot(path: str | Path, video: str | Path | None = None, min_score: float = 0.5) -> list[Sample]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    per_frame: dict[int, list] = defaultdict(list)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.replace(" ", "").split(",")
        try:
            frame, _, x, y, w, h = int(float(fields[0])), fields[1], *(float(v) for v in fields[2:6])
            conf = float(fields[6]) if len(fields) > 6 else 1.0
        except (ValueError, IndexError, OverflowError):  # OverflowError: int(float("inf"))
            raise LabelFormatError(f"{path}:{n}: expected 'frame,id,x,y,w,h,conf,...', got {line[:80]!r}") from None
        if not math.isfinite(conf):
            raise LabelFormatError(f"{path}:{n}: the confidence is not finite")
        if frame < 1:
            raise LabelFormatError(f"{path}:{n}: MOT frames are 1-based, got {frame}")
        is_detection = fields[1] == "-1"
        if (is_detection and conf < min_score) or (not is_detection and conf == 0):
            continue
        per_frame[frame - 1].append(checked_box(x, y, x + w, y + h, None, None, f"{path}:{n}"))
    if not per_frame:
        raise LabelFormatError(f"{path}: no boxes")
    last = max(per_frame)
    seq = path.parent.parent if path.parent.name in ("gt", "det") else path.parent
    img_dir = seq / "img1"
    if video is None and img_dir.is_dir():
        samples = []
        for f in range(last + 1):
            image = img_dir / f"{f + 1:06d}.jpg"
            if not image.is_file():
                raise LabelFormatError(f"{path}: frame {f + 1} has no image {image}")
            samples.append(Sample(image, np.array(per_frame.get(f, []), np.float32).reshape(-1, 4)))
        return samples
    if video is None:
        stem = path.name.split(".")[0]
        candidates = [p for p in path.parent.glob(f"{stem}.*") if is_video(p)]
        if not candidates:
            raise LabelFormatError(f"{path}: no img1/ folder and no video named {stem}.*; pass it with --video")
        video = candidates[0]
    count = count_video_frames(Path(video))
    if last >= count:
        raise LabelFormatError(f"{path}: labels reach frame {last + 1} but {video} has {count} frames")
    return [Sample(Path(video), np.array(per_frame.get(f, []), np.float32).reshape(-1, 4), frame_index=f)
            for f in range(last + 1)]


def _read(path: Path, video: Path | None = None) -> list[Sample]:
    path = Path(path)
    return read_mot(path / "gt" / "gt.txt" if path.is_dir() else path, video)


def _sniff(path: Path) -> bool:
    if path.is_dir():
        return (path / "gt" / "gt.txt").is_file()
    return path.suffix.lower() == ".txt" and first_line(path).count(",") >= 6


READER = Reader("mot", "MOTChallenge text (frame,id,x,y,w,h,conf,...): the file or a sequence folder", _read, _sniff)
