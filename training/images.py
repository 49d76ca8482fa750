"""Loading the pixels of a sample: image files with OpenCV, video frames with PyAV.

Image files are checked before decoding: an empty file, a folder, an unreadable file or one whose
header declares more than ``max_pixels`` pixels (a "decompression bomb": a 1 MB PNG can declare
20000×20000 pixels, 1.2 GB once decoded) is an ``ImageReadError`` naming the file. The header sizes
of PNG, JPEG, BMP, WebP and TIFF are read by ``image_header_size``; other formats OpenCV reads are
checked after decoding (OpenCV itself refuses more than 2^30 pixels).
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from core.errors import ImageReadError
from training.samples import Sample

DEFAULT_MAX_PIXELS = 100_000_000  # 100 megapixels: 300 MB of RGB; far above any camera's still


def image_header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by the header of a PNG, JPEG, BMP, WebP or TIFF file, without decoding
    it; None for other formats or a header too short or malformed to say."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            if data[12:16] != b"IHDR":
                return None
            return struct.unpack(">II", data[16:24])
        if data[:2] == b"\xff\xd8":
            return _jpeg_size(data)
        if data[:2] == b"BM":
            (header_size,) = struct.unpack("<I", data[14:18])
            if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
                width, height = struct.unpack("<HH", data[18:22])
            else:
                width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)  # a negative height means rows stored top-down
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
    except struct.error:  # header cut short
        return None
    return None


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None  # not at a marker: malformed
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return (width, height) if height else None  # height 0: given later by a DNL marker
        if length < 2:
            return None
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 3-byte frame tag, start code 9d 01 2a, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14-bit width - 1 and height - 1
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width - 1 and height - 1
        if len(data) < 30:
            return None
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """Width and length of the first image directory (what OpenCV decodes)."""
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd:ifd + 2])
    sizes = {}
    for i in range(count):
        entry = data[ifd + 2 + 12 * i: ifd + 14 + 12 * i]
        tag, kind, n = struct.unpack(order + "HHI", entry[:8])
        if tag in (256, 257) and n == 1:
            if kind == 3:  # SHORT
                sizes[tag] = struct.unpack(order + "H", entry[8:10])[0]
            elif kind == 4:  # LONG
                sizes[tag] = struct.unpack(order + "I", entry[8:12])[0]
    if 256 in sizes and 257 in sizes:
        return sizes[256], sizes[257]
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image not found") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except OSError as exc:
        if path.is_dir():  # Windows reports a folder as PermissionError / EACCES
            raise ImageReadError(f"{path}: is a folder, not an image") from None
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_image_rgb(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """RGB uint8 (H, W, 3) pixels of an image file, whatever its depth and channels (16-bit, grey and
    grey/alpha or RGBA images are converted; alpha is dropped; EXIF orientation is applied).

    Raises ``ImageReadError`` naming the file when it is missing, a folder, unreadable, empty,
    undecodable, or larger than ``max_pixels`` (checked from the header before decoding where the
    format allows; None: no limit beyond OpenCV's own).
    """
    path = Path(path)
    data = _read_bytes(path)
    if not data:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    if max_pixels is not None:
        size = image_header_size(data)
        if size is not None and size[0] * size[1] > max_pixels:
            raise ImageReadError(f"{path}: {size[0]}×{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} megapixels) "
                                 f"is over the {max_pixels / 1e6:g}-megapixel limit for images")
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageReadError(f"{path}: not a readable image ({reason})") from None
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not a readable image (corrupt, truncated or unsupported format)")
    if max_pixels is not None and image.shape[0] * image.shape[1] > max_pixels:
        raise ImageReadError(f"{path}: {image.shape[1]}×{image.shape[0]} pixels is over the "
                             f"{max_pixels / 1e6:g}-megapixel limit for images")
    if image.dtype != np.uint8:  # IMREAD_COLOR gives 8 bits; defensive for other OpenCV builds
        image = cv2.convertScaleAbs(image, alpha=255.0 / np.iinfo(image.dtype).max
                                    if np.issubdtype(image.dtype, np.integer) else 255.0)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_video_frame_rgb(path: str | Path, frame_index: int) -> np.ndarray:
    """RGB pixels of the ``frame_index``-th decoded frame (0-based, decode order of presentation)."""
    import av  # lazily: only video labels need PyAV

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for i, frame in enumerate(container.decode(stream)):
                if i == frame_index:
                    return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, IndexError) as exc:
        raise ImageReadError(f"{path}: cannot decode video ({exc})") from exc
    raise ImageReadError(f"{path}: frame {frame_index} not found (video has fewer frames)")


def load_sample_image(sample: Sample) -> np.ndarray:
    if sample.frame_index is None:
        return read_image_rgb(sample.source)
    return read_video_frame_rgb(sample.source, sample.frame_index)
