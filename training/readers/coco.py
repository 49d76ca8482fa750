"""COCO detection JSON: ``images`` (id, file_name, width, height), ``annotations`` (image_id, bbox x,y,w,h)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from training.readers.checks import checked_box, image_size, parse_json
from training.readers.registry import Reader
from training.samples import Sample


def _id(value, where: str, name: str) -> int | str:
    """A COCO id: an integer or a string (anything else, e.g. a list, cannot key a table)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LabelFormatError(f"{where}: {name!r} must be an integer or a string, got {value!r:.40}")
    return value


def _face_categories(categories, path: Path) -> set:
    if not isinstance(categories, list):
        raise LabelFormatError(f"{path}: 'categories' must be a list")
    names = {}
    for i, c in enumerate(categories):
        if isinstance(c, dict):
            names[_id(c.get("id"), f"{path}: categories[{i}]", "id")] = str(c.get("name", "")).lower()
    faces = {cid for cid, name in names.items() if name in ("face", "faces", "human_face", "human face")}
    if faces:
        return faces
    if len(names) <= 1:
        return set(names)
    raise LabelFormatError(f"{path}: several categories ({', '.join(sorted(names.values()))}) and none named 'face'")


def read_coco(path: str | Path, images_dir: str | Path | None = None) -> list[Sample]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    data = parse_json(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise LabelFormatError(f"{path}: not a COCO file (needs 'images' and 'annotations' lists)")
    faces = _face_categories(data.get("categories") or [], path)
    root = Path(images_dir) if images_dir else (path.parent / "images" if (path.parent / "images").is_dir()
                                                else path.parent)
    images, boxes = {}, {}
    for i, img in enumerate(data["images"]):
        where = f"{path}: images[{i}]"
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str) \
                or not img["file_name"]:
            raise LabelFormatError(f"{where} needs 'id' and 'file_name'")
        image_id, name = _id(img["id"], where, "id"), img["file_name"]
        w, h = image_size(img.get("width"), where, "width"), image_size(img.get("height"), where, "height")
        if Path(name).is_absolute() or ".." in Path(name).parts or "\0" in name:
            raise LabelFormatError(f"{where} file_name must be relative: {name!r:.80}")
        images[image_id] = (root / name, w, h)
        boxes[image_id] = []
    for i, ann in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or _id(ann.get("image_id"), where, "image_id") not in images:
            raise LabelFormatError(f"{where}: unknown or missing image_id")
        category = ann.get("category_id")
        if category is not None:
            _id(category, where, "category_id")
        if faces and category not in faces:
            continue
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise LabelFormatError(f"{where}: bbox must be [x, y, w, h]")
        try:
            x, y, w, h = (float(v) for v in bbox)
        except (TypeError, ValueError, OverflowError):
            raise LabelFormatError(f"{where}: bbox values must be numbers") from None
        _, iw, ih = images[ann["image_id"]]
        boxes[ann["image_id"]].append(checked_box(x, y, x + w, y + h, iw, ih, where))
    return [Sample(p, np.array(boxes[i], np.float32).reshape(-1, 4)) for i, (p, _, _) in images.items()]


def _read(path: Path, video: Path | None = None) -> list[Sample]:
    return read_coco(path)


def _sniff(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".json"


READER = Reader("coco", "COCO detection JSON (images, annotations; the 'face' category)", _read, _sniff)
