"""XML parsing for user label files that refuses DTDs and entities (billion laughs, external entities).

The parsing is ``defusedxml``'s: expat reports every DTD and entity declaration to it, whatever the
file's encoding (UTF-8, UTF-16, UTF-32, with or without a byte-order mark), and it refuses them. A
check of the raw bytes for ``<!ENTITY`` cannot do that: in UTF-16 those bytes never appear.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

import defusedxml
import defusedxml.ElementTree

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
    try:
        return defusedxml.ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise LabelFormatError(f"{path}: DTDs and entity declarations are not allowed in label files") from None
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        raise LabelFormatError(f"{path}:{line}: malformed XML ({exc})") from None
    except ValueError as exc:  # expat: "multi-byte encodings are not supported" (e.g. a declared UTF-16-LE)
        raise LabelFormatError(f"{path}: unreadable XML ({exc})") from None


@lru_cache(maxsize=8)
def _root_summary(path: Path, mtime_ns: int, size: int) -> tuple[str, frozenset[str]]:
    root = parse_xml(path)
    return root.tag, frozenset(child.tag for child in root)


def root_summary(path: str | Path) -> tuple[str, frozenset[str]]:
    """(root tag, tags of the root's children) of an XML file, for format detection; parsed once per
    file version however many readers ask."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    return _root_summary(path, stat.st_mtime_ns, stat.st_size)


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
    if not math.isfinite(value):
        raise LabelFormatError(f"{path}: {where}: {name!r} is not finite")
    return value
