"""What a source string means: a video file, a network stream, a webcam, or a synthetic lavfi graph.

    parse_source("clip.mp4")              file
    parse_source("rtsp://cam/stream")     network stream (rtsp, rtmp, http(s), udp, tcp, srt, hls .m3u8)
    parse_source("0")                     camera 0 of this OS (v4l2 /dev/video0, avfoundation "0", dshow by index)
    parse_source("/dev/video2")           v4l2 camera;  "video=Logitech C920" dshow;  "avfoundation:1"
    parse_source("lavfi:testsrc2=size=640x480:rate=30")   synthetic live source (tests, demos)

An existing file always wins: a file named "0", "video=clip.mp4" or "lavfi:x.mp4" in the current folder
is that file (write "./0" to be explicit), not a camera or filter graph.
"""
from __future__ import annotations

import glob
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp")


class SourceKind(str, Enum):
    FILE = "file"
    STREAM = "stream"
    CAMERA = "camera"
    SYNTHETIC = "synthetic"

    @property
    def is_live(self) -> bool:
        return self is not SourceKind.FILE


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    url: str  # what av.open receives
    format: str | None = None  # FFmpeg input format (v4l2, avfoundation, dshow, lavfi) or None
    options: dict[str, str] = field(default_factory=dict)
    label: str = ""  # what the user typed, for messages

    def __hash__(self):
        return hash((self.kind, self.url, self.format, tuple(sorted(self.options.items()))))


@dataclass(frozen=True)
class CameraInfo:
    source: str  # what to pass as SOURCE
    name: str


def camera_format() -> str:
    if sys.platform.startswith("linux"):
        return "v4l2"
    if sys.platform == "darwin":
        return "avfoundation"
    if sys.platform.startswith("win"):
        return "dshow"
    raise ValueError(f"webcams are not supported on {sys.platform}")


def list_cameras() -> list[CameraInfo]:
    """Cameras this OS reports (v4l2 device nodes, or FFmpeg's avfoundation/dshow device lists)."""
    fmt = camera_format()
    if fmt == "v4l2":
        cams = []
        for dev in sorted(glob.glob("/dev/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0)):
            name_file = Path("/sys/class/video4linux") / Path(dev).name / "name"
            name = name_file.read_text().strip() if name_file.is_file() else dev
            cams.append(CameraInfo(dev, name))
        return cams
    import av

    try:
        devices = av.enumerate_input_devices(fmt)
    except Exception as exc:  # FFmpeg reports devices through several mechanisms; any failure = none found
        log.warning("could not list %s cameras: %s", fmt, exc)
        return []
    cams = []
    for i, dev in enumerate(devices):
        name = getattr(dev, "description", None) or getattr(dev, "name", None) or str(dev)
        if fmt == "avfoundation" and "screen" in name.lower():
            continue
        cams.append(CameraInfo(f"video={name}" if fmt == "dshow" else str(i), name))
    return cams


def camera_options(size: str | None, fps: float | None, pixel_format: str | None, fmt: str) -> dict[str, str]:
    options: dict[str, str] = {}
    if size:
        options["video_size"] = size
    if fps:
        options["framerate"] = f"{fps:g}"
    elif fmt == "avfoundation":
        options["framerate"] = "30"  # avfoundation's 29.97 default is refused by most built-in cameras
    if pixel_format:
        options["input_format" if fmt == "v4l2" else "pixel_format"] = pixel_format
    if fmt == "dshow":
        options.setdefault("rtbufsize", "64M")
    return options


def _is_existing_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long or with a NUL byte is not a file
        return False


def parse_source(text: str, *, size: str | None = None, fps: float | None = None,
                 pixel_format: str | None = None) -> SourceSpec:
    """Interpret a SOURCE argument (see the module docstring); ``size`` is "WxH" for cameras."""
    text = str(text).strip()
    if not text:
        raise ValueError("empty source")
    if "://" not in text and not text.startswith("/dev/") and _is_existing_file(text):
        # FFmpeg would read "lavfi:x.mp4" as protocol "lavfi": an absolute path has no such prefix
        url = os.path.abspath(text) if ":" in text else text
        return SourceSpec(SourceKind.FILE, url, None, {}, text)
    if text.startswith("lavfi:"):
        graph = text[len("lavfi:"):]
        if "realtime" not in graph:
            graph += ",realtime"  # deliver at the graph's frame rate, like a camera
        return SourceSpec(SourceKind.SYNTHETIC, graph, "lavfi", {}, text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in STREAM_SCHEMES:
        options = {"rtsp_transport": "tcp"} if scheme.startswith("rtsp") else {}
        return SourceSpec(SourceKind.STREAM, text, None, options, text)
    for prefix in ("v4l2:", "avfoundation:", "dshow:"):
        if text.startswith(prefix):
            fmt = prefix[:-1]
            return SourceSpec(SourceKind.CAMERA, text[len(prefix):], fmt,
                              camera_options(size, fps, pixel_format, fmt), text)
    if text.startswith("/dev/video"):
        return SourceSpec(SourceKind.CAMERA, text, "v4l2", camera_options(size, fps, pixel_format, "v4l2"), text)
    if text.startswith("video="):
        return SourceSpec(SourceKind.CAMERA, text, "dshow", camera_options(size, fps, pixel_format, "dshow"), text)
    if text.isdigit() and not Path(text).exists():
        fmt = camera_format()
        index = int(text)
        if fmt == "v4l2":
            url = f"/dev/video{index}"
        elif fmt == "avfoundation":
            url = f"{index}:none"
        else:
            cams = list_cameras()
            if index >= len(cams):
                raise ValueError(f"camera {index} not found ({len(cams)} cameras: "
                                 f"{', '.join(c.name for c in cams) or 'none'})")
            url = cams[index].source
        return SourceSpec(SourceKind.CAMERA, url, fmt, camera_options(size, fps, pixel_format, fmt), text)
    return SourceSpec(SourceKind.FILE, text, None, {}, text)
