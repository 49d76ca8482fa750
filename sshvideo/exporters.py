"""Per-frame detection writers: JSON Lines, CSV, MOT 1.1 and CVAT for video 1.1 XML.

Each writer streams to a temporary file next to its target and renames it on ``close()``;
``abort()`` removes it, so an interrupted run never leaves a half-written file under the final name.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from core.atomic import current_umask
from core.inference import Detections

FORMATS = ("jsonl", "csv", "mot", "cvat")
SUFFIXES = {"jsonl": ".jsonl", "csv": ".csv", "mot": ".mot.txt", "cvat": ".cvat.xml"}


class _AtomicTextWriter:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        self._tmp = Path(tmp)
        os.chmod(self._tmp, 0o666 & ~current_umask())
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        self._fh.write(text)

    def close(self) -> None:
        self._finish()
        self._fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)

    def _finish(self) -> None:
        """Subclasses write their footer here."""


class JsonlWriter(_AtomicTextWriter):
    """First line: ``{"sshvideo": "detections", "version": 1, "source", "width", "height", "fps"}``; then one
    ``{"frame", "time", "faces": [{"box": [x1, y1, x2, y2], "score"}]}`` line per frame."""

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self.write(json.dumps({"sshvideo": "detections", "version": 1, **meta}) + "\n")

    def add(self, index: int, time: float, dets: Detections) -> None:
        faces = [{"box": [round(float(v), 2) for v in b], "score": round(float(s), 5)}
                 for b, s in zip(dets.boxes, dets.scores)]
        self.write(json.dumps({"frame": index, "time": round(time, 6), "faces": faces}) + "\n")


class CsvWriter(_AtomicTextWriter):
    """``frame,time,x1,y1,x2,y2,score``: one row per face."""

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self.write("frame,time,x1,y1,x2,y2,score\n")

    def add(self, index: int, time: float, dets: Detections) -> None:
        for (x1, y1, x2, y2), s in zip(dets.boxes, dets.scores):
            self.write(f"{index},{time:.6f},{x1:.2f},{y1:.2f},{x2:.2f},{y2:.2f},{s:.5f}\n")


class MotWriter(_AtomicTextWriter):
    """MOT 1.1 detections: ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frames and id -1 (untracked)."""

    def __init__(self, path, meta: dict):
        super().__init__(path)

    def add(self, index: int, time: float, dets: Detections) -> None:
        for (x1, y1, x2, y2), s in zip(dets.boxes, dets.scores):
            self.write(f"{index + 1},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.5f},-1,-1,-1\n")


class CvatVideoWriter(_AtomicTextWriter):
    """CVAT for video 1.1: each detection is a one-frame track (a keyframe box, then ``outside="1"`` on
    the next frame), label "face" with a ``score`` attribute, so it opens in CVAT for correction."""

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self._track = 0
        self._frames = 0
        w, h = meta.get("width", 0), meta.get("height", 0)
        name = quoteattr(Path(str(meta.get("source", "video"))).name)[1:-1]
        self.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
                   f"  <meta>\n    <task>\n      <name>{name}</name>\n      <mode>interpolation</mode>\n"
                   "      <labels>\n        <label>\n          <name>face</name>\n          <attributes>\n"
                   "            <attribute>\n              <name>score</name>\n              <mutable>True</mutable>\n"
                   "              <input_type>text</input_type>\n            </attribute>\n"
                   "          </attributes>\n        </label>\n      </labels>\n"
                   f"      <original_size>\n        <width>{w}</width>\n        <height>{h}</height>\n"
                   "      </original_size>\n    </task>\n  </meta>\n")

    def add(self, index: int, time: float, dets: Detections) -> None:
        self._frames = max(self._frames, index + 1)
        for (x1, y1, x2, y2), s in zip(dets.boxes, dets.scores):
            coords = f'xtl="{x1:.2f}" ytl="{y1:.2f}" xbr="{x2:.2f}" ybr="{y2:.2f}"'
            self.write(f'  <track id="{self._track}" label="face" source="auto">\n'
                       f'    <box frame="{index}" outside="0" occluded="0" keyframe="1" {coords} z_order="0">\n'
                       f'      <attribute name="score">{s:.5f}</attribute>\n    </box>\n'
                       f'    <box frame="{index + 1}" outside="1" occluded="0" keyframe="1" {coords} z_order="0">\n'
                       f'      <attribute name="score">{s:.5f}</attribute>\n    </box>\n  </track>\n')
            self._track += 1

    def _finish(self) -> None:
        self.write("</annotations>\n")


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "mot": MotWriter, "cvat": CvatVideoWriter}


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise ValueError(f"unknown --format {', '.join(unknown) or text!r}; choose from {', '.join(FORMATS)}")
    return formats
