"""Per-frame detection writers: JSON Lines, CSV, MOT 1.1 and CVAT for video 1.1 XML.

Each writer streams to a temporary file next to its target and renames it on ``close()``;
``abort()`` removes it, so an interrupted run never leaves a half-written file under the final name.
A writer is told by ``meta["tracker"]`` (present only with tracking) whether its faces carry track ids:
without it, every format is exactly the untracked one.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from core.atomic import AtomicTextFile
from core.inference import Detections


@dataclass(frozen=True)
class Faces:
    """The faces of one frame as written and rendered: K boxes with scores, and with tracking their ids.

    Attributes:
        boxes: float32 (K, 4) xyxy pixels.
        scores: float32 (K,) detection scores (a carried box: its track's last score).
        ids: int64 (K,) track ids, or None without tracking.
        carried: bool (K,) True for a box the tracker carried through a miss or an undetected frame,
            or None without tracking.
    """

    boxes: np.ndarray
    scores: np.ndarray
    ids: np.ndarray | None = None
    carried: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def from_detections(dets: Detections) -> Faces:
        return Faces(dets.boxes, dets.scores)

    @staticmethod
    def from_tracks(tracks) -> Faces:
        """From ``sshvideo.tracking.Tracks`` (duck-typed: this module sits below the tracker's users)."""
        return Faces(tracks.boxes, tracks.scores, tracks.ids, tracks.carried)

    @property
    def tracked(self) -> bool:
        return self.ids is not None


def face_records(faces: Detections | Faces) -> list[dict]:
    """``[{"box": [x1, y1, x2, y2], "score"}]`` rounded to 0.01 px and 1e-5, with ``"track": id`` and
    ``"carried": bool`` when the faces are tracked: the face record of every JSON output (annotate's JSON
    Lines, detect's detections.jsonl)."""
    records = [{"box": [round(float(v), 2) for v in box], "score": round(float(score), 5)}
               for box, score in zip(faces.boxes, faces.scores)]
    if getattr(faces, "ids", None) is not None:
        for record, track, carried in zip(records, faces.ids, faces.carried):
            record["track"], record["carried"] = int(track), bool(carried)
    return records


def _tracked(meta: dict) -> bool:
    return meta.get("tracker") is not None


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
    """First line: ``{"sshvideo": "detections", "version": 1, "source", "width", "height", "fps", ...}`` (with
    tracking, ``"tracker"``: its settings); then one ``{"frame", "time", "faces": [{"box": [x1, y1, x2, y2],
    "score"}]}`` line per frame, each face with ``"track"`` and ``"carried"`` when tracked."""

    suffix = ".jsonl"

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self.write(json.dumps({"sshvideo": "detections", "version": 1, **meta}) + "\n")

    def add(self, index: int, time: float, faces: Faces) -> None:
        self.write(json.dumps({"frame": index, "time": round(time, 6), "faces": face_records(faces)}) + "\n")


class CsvWriter(_AtomicTextWriter):
    """``frame,time,x1,y1,x2,y2,score``: one row per face; with tracking two more columns, ``track`` (the id)
    and ``carried`` (1 for a box carried through a miss, else 0), last so that positional readers of the
    untracked columns keep working."""

    suffix = ".csv"

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self._tracked = _tracked(meta)
        self.write("frame,time,x1,y1,x2,y2,score" + (",track,carried" if self._tracked else "") + "\n")

    def add(self, index: int, time: float, faces: Faces) -> None:
        for k, ((x1, y1, x2, y2), s) in enumerate(zip(faces.boxes, faces.scores)):
            row = f"{index},{time:.6f},{x1:.2f},{y1:.2f},{x2:.2f},{y2:.2f},{s:.5f}"
            if self._tracked:
                row += f",{faces.ids[k]},{int(faces.carried[k])}"
            self.write(row + "\n")


class MotWriter(_AtomicTextWriter):
    """MOT 1.1: ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frames; id is the track id with tracking
    (the MOT challenge's tracker-result layout), -1 without (detections)."""

    suffix = ".mot.txt"

    def __init__(self, path, meta: dict):
        super().__init__(path)

    def add(self, index: int, time: float, faces: Faces) -> None:
        ids = faces.ids if faces.ids is not None else np.full(len(faces), -1)
        for (x1, y1, x2, y2), s, track in zip(faces.boxes, faces.scores, ids):
            self.write(f"{index + 1},{track},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.5f},-1,-1,-1\n")


class CvatVideoWriter(_AtomicTextWriter):
    """CVAT for video 1.1, label "face" with a ``score`` attribute, so it opens in CVAT for correction.

    Without tracking each detection is a one-frame track (a keyframe box, then ``outside="1"`` on the next
    frame). With tracking each track id is one ``<track>``, written at ``close()``: a keyframe on every frame
    with its box, and ``outside="1"`` on the first written frame after a box when the track is absent there
    (it ended, or was hidden for a while), so CVAT interpolates nothing across an absence.
    """

    suffix = ".cvat.xml"

    def __init__(self, path, meta: dict):
        super().__init__(path)
        self._tracked = _tracked(meta)
        self._track = 0
        self._frames = 0
        self._written: list[int] = []  # tracked: every frame index added, increasing
        self._boxes: dict[int, list[tuple[int, np.ndarray, float]]] = defaultdict(list)  # id -> (frame, box, score)
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

    def add(self, index: int, time: float, faces: Faces) -> None:
        self._frames = max(self._frames, index + 1)
        if self._tracked:
            self._written.append(index)
            for box, s, track in zip(faces.boxes, faces.scores, faces.ids):
                self._boxes[int(track)].append((index, np.asarray(box, np.float64), float(s)))
            return
        for box, s in zip(faces.boxes, faces.scores):
            self._write_track([(index, box, s, False), (index + 1, box, s, True)])

    def _write_track(self, keys: list[tuple[int, np.ndarray, float, bool]]) -> None:
        """One ``<track>`` of keyframes (frame, box, score, outside)."""
        lines = [f'  <track id="{self._track}" label="face" source="auto">\n']
        for frame, (x1, y1, x2, y2), s, outside in keys:
            coords = f'xtl="{x1:.2f}" ytl="{y1:.2f}" xbr="{x2:.2f}" ybr="{y2:.2f}"'
            lines.append(f'    <box frame="{frame}" outside="{int(outside)}" occluded="0" keyframe="1" {coords} '
                         f'z_order="0">\n      <attribute name="score">{s:.5f}</attribute>\n    </box>\n')
        self.write("".join(lines) + "  </track>\n")
        self._track += 1

    def _track_keys(self, boxes: list[tuple[int, np.ndarray, float]]) -> list[tuple[int, np.ndarray, float, bool]]:
        """A track's boxes as keyframes, with an outside keyframe after each box that the next written frame
        lacks (frames never written, such as lost ones, are not absences: CVAT may interpolate over them)."""
        where = {frame: k for k, frame in enumerate(self._written)}
        keys = []
        for (frame, box, s), nxt in zip(boxes, boxes[1:] + [None]):
            keys.append((frame, box, s, False))
            following = where[frame] + 1
            if following < len(self._written) and (nxt is None or self._written[following] != nxt[0]):
                keys.append((self._written[following], box, s, True))
        return keys

    def _finish(self) -> None:
        for track in sorted(self._boxes):
            self._write_track(self._track_keys(self._boxes[track]))
        self.write("</annotations>\n")


# ``annotate --format NAME``: a writer class per format, ``cls(path, meta)``, then ``add(frame index,
# time, Faces)`` per frame and ``close()`` (or ``abort()``); ``cls.suffix`` ends the output's name.
WRITERS: dict[str, type[_AtomicTextWriter]] = {"jsonl": JsonlWriter, "csv": CsvWriter, "mot": MotWriter,
                                               "cvat": CvatVideoWriter}


def parse_formats(text: str) -> tuple[str, ...]:
    """"jsonl,csv" -> ("jsonl", "csv"); raises ValueError naming unknown formats."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise ValueError(f"unknown format {', '.join(unknown) or repr(text)}; choose from {', '.join(WRITERS)}")
    return formats
