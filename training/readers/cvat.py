"""CVAT 1.1 XML exports: "CVAT for images" (``<image>`` elements) and "CVAT for video" (``<track>``s).

Video tracks follow CVAT's semantics: a box holds from its frame until the track's next box,
interpolated linearly between them, and ``outside="1"`` ends the track. Frames are decoded from the
video with PyAV when training.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from core.file_types import VIDEO_SUFFIXES
from training.readers.checks import checked_box, is_file
from training.readers.registry import Reader
from training.readers.safe_xml import number, parse_xml, root_summary
from training.samples import Sample
from training.video_frames import count_video_frames

FACE_LABELS = {"face", "faces", "head"}


def _is_face(label: str | None, labels: set[str] | None) -> bool:
    return (label or "").lower() in (labels or FACE_LABELS)


def _size(root, path):
    size = root.find("meta/task/original_size")
    if size is None:
        return None, None
    w, h = number(size, "width", path, "<original_size>"), number(size, "height", path, "<original_size>")
    if w <= 0 or h <= 0:
        raise LabelFormatError(f"{path}: <original_size> must be positive, got {w:g}×{h:g}")
    return w, h


def read_cvat_images(path: str | Path, images_dir: str | Path | None = None,
                     labels: set[str] | None = None) -> list[Sample]:
    path = Path(path)
    root = parse_xml(path)
    if root.tag != "annotations":
        raise LabelFormatError(f"{path}: root element is <{root.tag}>, expected <annotations>")
    base = Path(images_dir) if images_dir else (path.parent / "images" if (path.parent / "images").is_dir()
                                                else path.parent)
    samples = []
    for image in root.findall("image"):
        name = image.get("name") or ""
        where = f"{path}: <image name={name!r}>"
        if not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise LabelFormatError(f"{where}: needs a relative 'name'")
        w, h = number(image, "width", path, where), number(image, "height", path, where)
        if w <= 0 or h <= 0:
            raise LabelFormatError(f"{where}: width and height must be positive, got {w:g}×{h:g}")
        boxes = [checked_box(number(b, "xtl", path, where), number(b, "ytl", path, where),
                             number(b, "xbr", path, where), number(b, "ybr", path, where), w, h, where)
                 for b in image.findall("box") if _is_face(b.get("label"), labels)]
        samples.append(Sample(base / name, np.array(boxes, np.float32).reshape(-1, 4)))
    if not samples:
        raise LabelFormatError(f"{path}: no <image> elements (is it a CVAT for video export?)")
    return samples


def _track_keys(path: Path, track) -> list[tuple[int, bool, tuple, str]]:
    """The keyframes of one track, sorted by frame: (frame, outside, (xtl, ytl, xbr, ybr), where)."""
    tid = track.get("id")
    keys = []
    for b in track.findall("box"):
        where = f"{path}: <track id={tid!r}> <box frame={b.get('frame')!r}>"
        frame = int(number(b, "frame", path, where))
        if frame < 0:
            raise LabelFormatError(f"{where}: negative frame")
        coords = tuple(number(b, k, path, where) for k in ("xtl", "ytl", "xbr", "ybr"))
        keys.append((frame, b.get("outside") == "1", coords, where))
    keys.sort(key=lambda k: k[0])
    return keys


def _last_labelled_frame(keys: list) -> tuple[int, str] | None:
    """The last frame a track labels (a box holds until the next keyframe), and where; None if none.

    Computed from the keyframes alone, so a range can be checked before it is interpolated."""
    last = None
    for (f0, outside0, _, where), nxt in zip(keys, keys[1:] + [None]):
        if outside0:
            continue
        reach = f0 if nxt is None else max(f0, nxt[0] - 1)
        if last is None or reach > last[0]:
            last = (reach, where)
    return last


def track_boxes(path: Path, track, w, h, frame_count: int | None = None, video: Path | None = None
                ) -> dict[int, tuple]:
    """frame -> box of one track, with CVAT's interpolation between consecutive boxes.

    With ``frame_count``, a track that reaches beyond the video is refused before any frame is
    interpolated: the cost is bounded by the video's length, not by the frame numbers in the file."""
    keys = _track_keys(path, track)
    last = _last_labelled_frame(keys)
    if frame_count is not None and last is not None and last[0] >= frame_count:
        raise LabelFormatError(f"{last[1]}: labels reach frame {last[0]} but {video or 'the video'} has "
                               f"{frame_count} frames")
    out = {}
    for (f0, outside0, c0, where), nxt in zip(keys, keys[1:] + [None]):
        if outside0:
            continue
        out[f0] = checked_box(*c0, w, h, where)
        if nxt is None:
            continue
        f1, _, c1, _ = nxt
        for f in range(f0 + 1, f1):
            t = (f - f0) / (f1 - f0)
            out[f] = checked_box(*(a + t * (b - a) for a, b in zip(c0, c1)), w, h, where)
    return out


def read_cvat_video(path: str | Path, video: str | Path | None = None, labels: set[str] | None = None,
                    frame_count: int | None = None) -> list[Sample]:
    """One sample per annotated frame range (every frame from the first to the last annotated one).

    Args:
        video: the annotated video; default: a video next to the XML with the task's name or the XML's stem.
        frame_count: frames in the video (checked before interpolating: labels beyond it are an error);
            read with PyAV if None.
    """
    path = Path(path)
    root = parse_xml(path)
    if root.tag != "annotations":
        raise LabelFormatError(f"{path}: root element is <{root.tag}>, expected <annotations>")
    tracks = root.findall("track")
    if not tracks:
        raise LabelFormatError(f"{path}: no <track> elements (is it a CVAT for images export?)")
    face_tracks = [t for t in tracks if _is_face(t.get("label"), labels)]
    if not face_tracks:
        raise LabelFormatError(f"{path}: no face tracks")
    video = Path(video) if video else _find_video(path, root)
    w, h = _size(root, path)
    count = frame_count if frame_count is not None else count_video_frames(video)
    per_frame: dict[int, list] = defaultdict(list)
    for track in face_tracks:
        for frame, box in track_boxes(path, track, w, h, count, video).items():
            per_frame[frame].append(box)
    if not per_frame:
        raise LabelFormatError(f"{path}: no face tracks")
    frames = range(min(per_frame), max(per_frame) + 1)
    return [Sample(video, np.array(per_frame.get(f, []), np.float32).reshape(-1, 4), frame_index=f) for f in frames]


def _find_video(path: Path, root) -> Path:
    names = [root.findtext("meta/task/name") or "", root.findtext("meta/source") or "", path.stem.split(".")[0]]
    for name in names:
        if not name:
            continue
        candidate = path.parent / Path(name).name
        if is_file(candidate) and candidate.suffix:
            return candidate
        for suffix in VIDEO_SUFFIXES:
            if is_file(candidate.with_suffix(suffix)):
                return candidate.with_suffix(suffix)
    raise LabelFormatError(f"{path}: cannot find the annotated video next to it; pass it with --video")


def _is_cvat(path: Path, tracks: bool) -> bool:
    if not (path.is_file() and path.suffix.lower() == ".xml"):
        return False
    tag, children = root_summary(path)
    return tag == "annotations" and ("track" in children) == tracks


IMAGES_READER = Reader("cvat-images", "CVAT for images 1.1 XML (<image> elements)",
                       lambda path, video=None: read_cvat_images(path), lambda path: _is_cvat(path, tracks=False))
VIDEO_READER = Reader("cvat-video", "CVAT for video 1.1 XML (<track> elements; needs the video)",
                      lambda path, video=None: read_cvat_video(path, video), lambda path: _is_cvat(path, tracks=True))
