"""COCO detection JSON: ``images`` (id, file_name, width, height), ``annotations`` (image_id, bbox x,y,w,h)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from training.readers.checks import checked_box
from training.samples import Sample


def _face_categories(categories: list, path: Path) -> set:
    names = {c.get("id"): str(c.get("name", "")).lower() for c in categories if isinstance(c, dict)}
    faces = {cid for cid, name in names.items() if name in ("face", "faces", "human_face", "human face")}
    if faces:
        return faces
    if len(names) <= 1:
        return set(names)
    raise LabelFormatError(f"{path}: several categories ({', '.join(sorted(names.values()))}) and none named 'face'")


def read_coco(path: str | Path, images_dir: str | Path | None = None) -> list[Sample]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise LabelFormatError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise LabelFormatError(f"{path}: not a COCO file (needs 'images' and 'annotations' lists)")
    faces = _face_categories(data.get("categories") or [], path)
    root = Path(images_dir) if images_dir else (path.parent / "images" if (path.parent / "images").is_dir()
                                                else path.parent)
    images, boxes = {}, {}
    for i, img in enumerate(data["images"]):
        try:
            image_id, name = img["id"], str(img["file_name"])
            w, h = float(img.get("width") or 0) or None, float(img.get("height") or 0) or None
        except (TypeError, KeyError, ValueError):
            raise LabelFormatError(f"{path}: images[{i}] needs 'id' and 'file_name'") from None
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise LabelFormatError(f"{path}: images[{i}] file_name must be relative: {name!r}")
        images[image_id] = (root / name, w, h)
        boxes[image_id] = []
    for i, ann in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            raise LabelFormatError(f"{where}: unknown or missing image_id")
        if faces and ann.get("category_id") not in faces:
            continue
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise LabelFormatError(f"{where}: bbox must be [x, y, w, h]")
        try:
            x, y, w, h = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise LabelFormatError(f"{where}: bbox values must be numbers") from None
        _, iw, ih = images[ann["image_id"]]
        boxes[ann["image_id"]].append(checked_box(x, y, x + w, y + h, iw, ih, where))
    return [Sample(p, np.array(boxes[i], np.float32).reshape(-1, 4)) for i, (p, _, _) in images.items()]
