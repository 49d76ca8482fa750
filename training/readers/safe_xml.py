"""XML parsing for user label files that refuses DTDs and entities (billion laughs, external entities)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from core.errors import LabelFormatError

MAX_XML_BYTES = 512 * 1024 * 1024


def parse_xml(path: str | Path) -> ET.Element:
    """Root element of ``path``; ``LabelFormatError`` naming the file (and line) on any problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_XML_BYTES:
            raise LabelFormatError(f"{path}: XML file too large ({size} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise LabelFormatError(f"{path}: DTDs and entity declarations are not allowed in label files")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        raise LabelFormatError(f"{path}:{line}: malformed XML ({exc})") from None


def number(element: ET.Element, name: str, path: Path, where: str) -> float:
    """A finite float attribute (or child element text) of ``element``."""
    raw = element.get(name)
    if raw is None:
        child = element.find(name)
        raw = child.text if child is not None else None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise LabelFormatError(f"{path}: {where}: missing or non-numeric {name!r} ({raw!r})") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise LabelFormatError(f"{path}: {where}: {name!r} is not finite")
    return value
