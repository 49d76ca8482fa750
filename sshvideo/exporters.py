"""Per-frame detection writers: JSON Lines, CSV, MOT 1.1 and CVAT for video 1.1 XML.

Each writer streams to a temporary file next to its target and renames it on ``close()``;
``abort()`` removes it, so an interrupted run never leaves a half-written file under the final name.
"""
from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

from core.atomic import AtomicTextFile
from core.inference import Detections


def face_records(dets: Detections) -> list[dict]:
    """``[{"box": [x1, y1, x2, y2], "score"}]`` rounded to 0.01 px and 1e-5: the face record of every
    JSON output (annotate's JSON Lines, detect's detections.jsonl)."""
    return [{"box": [round(float(v), 2) for v in box], "score": round(float(score), 5)}
            for box, score in zip(dets.boxes, dets.scores)]


class _AtomicTextWriter:
    """A detection writer streaming into an ``AtomicTextFile``; subclasses set ``suffix`` (the output
    name's ending) and write their header in ``__init__``, rows in ``add`` and a footer in ``_finish``."""

    suffix: str

    def __init__(self, path: Path):
        self._file = AtomicTextFile(path)
        self.path = self._file.path

    def write(self, text: str) -> None:
        self._file.write(text)

    def close(self) -> None:
        self._finish()
        self._file.commit()

    def abort(self) -> None:
        self._file.abort()

    def _finish(self) -> None:
        """Subclasses write their footer here."""


class JsonlWriter(_AtomicTextWriter):
    """First line: ``{"sshvideo": "detections", "version": 1, "source", "width", "height", "fps"}``; then one
    ``{"frame", "time", "faces": [{"box": [x1, y1, x2, y2], "score"}]}`` line per frame."""

    suffix = ".jsonl"

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self.write(json.dumps({"sshvideo": "detections", "version": 1, **meta}) + "\n")

    def add(self, index: int, time: float, dets: Detections) -> None:
        self.write(json.dumps({"frame": index, "time": round(time, 6), "faces": face_records(dets)}) + "\n")


class CsvWriter(_AtomicTextWriter):
    """``frame,time,x1,y1,x2,y2,score``: one row per face."""

    suffix = ".csv"

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self.write("frame,time,x1,y1,x2,y2,score\n")

    def add(self, index: int, time: float, dets: Detections) -> None:
        for (x1, y1, x2, y2), s in zip(dets.boxes, dets.scores):
            self.write(f"{index},{time:.6f},{x1:.2f},{y1:.2f},{x2:.2f},{y2:.2f},{s:.5f}\n")


class MotWriter(_AtomicTextWriter):
    """MOT 1.1 detections: ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frames and id -1 (untracked)."""

    suffix = ".mot.txt"

    def __init__(self, path, meta: dict):
        super().__init__(path)

    def add(self, index: int, time: float, dets: Detections) -> None:
        for (x1, y1, x2, y2), s in zip(dets.boxes, dets.scores):
            self.write(f"{index + 1},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.5f},-1,-1,-1\n")


class CvatVideoWriter(_AtomicTextWriter):
    """CVAT for video 1.1: each detection is a one-frame track (a keyframe box, then ``outside="1"`` on
    the next frame), label "face" with a ``score`` attribute, so it opens in CVAT for correction."""

    suffix = ".cvat.xml"

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


# ``annotate --format NAME``: a writer class per format, ``cls(path, meta)``, then ``add(frame index,
# time, detections)`` per frame and ``close()`` (or ``abort()``); ``cls.suffix`` ends the output's name.
WRITERS: dict[str, type[_AtomicTextWriter]] = {"jsonl": JsonlWriter, "csv": CsvWriter, "mot": MotWriter,
                                               "cvat": CvatVideoWriter}


def parse_formats(text: str) -> tuple[str, ...]:
    """"jsonl,csv" -> ("jsonl", "csv"); raises ValueError naming unknown formats."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise ValueError(f"unknown format {', '.join(unknown) or repr(text)}; choose from {', '.join(WRITERS)}")
    return formats
