"""Pascal VOC XML: one ``<annotation>`` per image with ``<object><bndbox>`` in 1-based inclusive pixels.

Every object counts as a face unless ``names`` restricts them (face-mask sets label faces
"with_mask", "without_mask", "mask_weared_incorrect"). Images are looked up next to the XML, in
``../JPEGImages`` and in ``../images``: first by ``<filename>``, then by the XML's own stem, since
annotation tools keep the old ``<filename>`` when a dataset renames its files (e.g. to their MD5).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from core.file_types import IMAGE_SUFFIXES
from training.readers.checks import checked_box, is_file
from training.readers.registry import Reader
from training.readers.safe_xml import number, parse_xml, root_summary
from training.samples import Sample


def _find_image(xml: Path, filename: str) -> Path:
    if Path(filename).is_absolute() or ".." in Path(filename).parts:
        raise LabelFormatError(f"{xml}: <filename> must be a plain file name, got {filename!r}")
    folders = (xml.parent, xml.parent.parent / "JPEGImages", xml.parent.parent / "images")
    candidates = [filename] + [xml.stem + s for s in IMAGE_SUFFIXES + tuple(s.upper() for s in IMAGE_SUFFIXES)]
    for name in candidates:
        for folder in folders:
            if is_file(folder / name):
                return folder / name
    raise LabelFormatError(f"{xml}: image {filename!r} (or {xml.stem}.jpg/.png) not found next to it, "
                           f"in ../JPEGImages or ../images")


def read_voc_file(xml: Path, names: set[str] | None = None) -> Sample:
    root = parse_xml(xml)
    if root.tag != "annotation":
        raise LabelFormatError(f"{xml}: root element is <{root.tag}>, expected <annotation>")
    filename = (root.findtext("filename") or "").strip()
    if not filename:
        raise LabelFormatError(f"{xml}: missing <filename>")
    size = root.find("size")
    w = number(size, "width", xml, "<size>") if size is not None else None
    h = number(size, "height", xml, "<size>") if size is not None else None
    boxes = []
    for i, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        if names is not None and name.lower() not in names:
            continue
        bb = obj.find("bndbox")
        where = f"{xml}: <object> {i + 1} ({name})"
        if bb is None:
            raise LabelFormatError(f"{where}: missing <bndbox>")
        xmin, ymin, xmax, ymax = (number(bb, k, xml, f"<object> {i + 1}") for k in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append(checked_box(xmin - 1, ymin - 1, xmax, ymax, w, h, where))
    return Sample(_find_image(xml, filename), np.array(boxes, np.float32).reshape(-1, 4))


def read_voc(path: str | Path, names: set[str] | None = None) -> list[Sample]:
    """A single VOC XML file, or a folder of them (searched recursively)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*.xml"))
    if not files:
        raise LabelFormatError(f"{path}: no Pascal VOC .xml files found")
    return [read_voc_file(f, names) for f in files]


def _read(path: Path, video: Path | None = None) -> list[Sample]:
    path = Path(path)
    return read_voc(path / "Annotations" if (path / "Annotations").is_dir() else path)


def _sniff(path: Path) -> bool:
    if path.is_dir():
        return any(path.glob("*.xml")) or (path / "Annotations").is_dir()
    return path.suffix.lower() == ".xml" and root_summary(path)[0] == "annotation"


READER = Reader("voc", "Pascal VOC XML: one file, or a folder of them (or with Annotations/)", _read, _sniff)
