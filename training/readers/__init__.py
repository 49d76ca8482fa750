"""Label readers: every supported format becomes a list of ``Sample``.

``read_labels("path")`` guesses the format; ``read_labels("coco=path")`` names it. Formats:
wider, coco, yolo, voc, cvat-images, cvat-video, mot, sshvideo.
"""
from __future__ import annotations

from pathlib import Path

from core.errors import LabelFormatError
from core.file_types import is_image
from training.readers.coco import read_coco
from training.readers.cvat import read_cvat_images, read_cvat_video
from training.readers.mot import read_mot
from training.readers.safe_xml import parse_xml
from training.readers.sshvideo_output import read_sshvideo_jsonl
from training.readers.voc import read_voc
from training.readers.yolo import read_yolo
from training.samples import Sample
from training.wider import read_wider_folder, read_wider_labels

FORMATS = ("wider", "coco", "yolo", "voc", "cvat-images", "cvat-video", "mot", "sshvideo")


def detect_format(path: Path) -> str:
    """Guess the label format of ``path`` from its layout and first bytes."""
    if path.is_dir():
        if (path / "labels.txt").is_file() or path.name in ("WIDER_train", "WIDER_val"):
            return "wider"
        if (path / "labels").is_dir() and (path / "images").is_dir():
            return "yolo"
        if any(path.glob("*.xml")) or (path / "Annotations").is_dir():
            return "voc"
        if (path / "gt" / "gt.txt").is_file():
            return "mot"
        raise LabelFormatError(f"{path}: cannot tell the label format of this folder; write FORMAT={path}")
    if not path.is_file():
        raise LabelFormatError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix == ".jsonl":
        return "sshvideo"
    if suffix == ".xml":
        root = parse_xml(path)
        if root.tag == "annotation":
            return "voc"
        if root.tag == "annotations":
            return "cvat-video" if root.find("track") is not None else "cvat-images"
        raise LabelFormatError(f"{path}: unknown XML label format (root <{root.tag}>)")
    if suffix == ".txt":
        first = next((line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()), "")
        if first.count(",") >= 6:
            return "mot"
        if is_image(first):
            return "wider"
    raise LabelFormatError(f"{path}: cannot tell the label format; write FORMAT={path} with FORMAT one of "
                           f"{', '.join(FORMATS)}")


def read_labels(spec: str, video: str | Path | None = None) -> list[Sample]:
    """Samples from a ``[FORMAT=]PATH`` spec (``video``: the clip for cvat-video/mot/sshvideo labels)."""
    fmt, sep, rest = spec.partition("=")
    if sep and fmt in FORMATS:
        path = Path(rest)
    else:
        fmt, path = None, Path(spec)
    if not path.exists():
        raise LabelFormatError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt == "wider":
        return read_wider_folder(path) if path.is_dir() else read_wider_labels(path, path.parent / "images")
    if fmt == "coco":
        return read_coco(path)
    if fmt == "yolo":
        return read_yolo(path)
    if fmt == "voc":
        return read_voc(path / "Annotations" if (path / "Annotations").is_dir() else path)
    if fmt == "cvat-images":
        return read_cvat_images(path)
    if fmt == "cvat-video":
        return read_cvat_video(path, video)
    if fmt == "mot":
        return read_mot(path / "gt" / "gt.txt" if path.is_dir() else path, video)
    if fmt == "sshvideo":
        return read_sshvideo_jsonl(path, video)
    raise LabelFormatError(f"unknown label format {fmt!r}")


__all__ = ["FORMATS", "LabelFormatError", "Sample", "detect_format", "read_labels"]
