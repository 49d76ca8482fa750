"""Issue 20 items 2 and 6a: hostile image files are named ImageReadErrors, odd formats become RGB uint8,
decompression bombs are refused from their header before decoding."""
import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from core.errors import ImageReadError, SshvideoError
from training.images import image_header_size, read_image_rgb


def _png_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def _bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG of width×height, all black: a few hundred kB that decode to 3 bytes/pixel."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


# Issue 20 item 2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,make,message", [
    ("empty.jpg", lambda p: p.write_bytes(b""), "empty file"),
    ("text.png", lambda p: p.write_text("hello, I am not a picture\n"), "not a readable image"),
    ("folder.jpg", lambda p: p.mkdir(), "is a folder"),
    ("missing.jpg", lambda p: None, "not found"),
    ("junk.jpg", lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300)), "not a readable image"),
])
def test_hostile_files_are_named_image_read_errors(tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with pytest.raises(ImageReadError, match=message) as info:
        read_image_rgb(path)
    assert name in str(info.value) and isinstance(info.value, SshvideoError)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_images_are_image_read_errors(tmp_path, suffix):
    rng = np.random.default_rng(0)
    _, buf = cv2.imencode(suffix, rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(ImageReadError, match=f"cut{suffix}"):
        read_image_rgb(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permissions_are_an_image_read_error(tmp_path):
    path = tmp_path / "secret.png"
    path.write_bytes(_png_bytes(np.zeros((4, 4, 3), np.uint8)))
    path.chmod(0)
    try:
        with pytest.raises(ImageReadError, match="secret.png: permission denied"):
            read_image_rgb(path)
    finally:
        path.chmod(0o644)


def test_sixteen_bit_grey_and_alpha_pngs_become_rgb_uint8(tmp_path):
    cases = {
        "grey16.png": (np.full((5, 7), 65535, np.uint16), (255, 255, 255)),
        "grey8.png": (np.full((5, 7), 90, np.uint8), (90, 90, 90)),
        "grey_alpha.png": (None, (40, 40, 40)),
        "bgra.png": (np.dstack([np.full((5, 7), v, np.uint8) for v in (10, 20, 30, 128)]), (30, 20, 10)),
        "rgb16.png": (np.dstack([np.full((5, 7), v, np.uint16) for v in (0, 32896, 65535)]), (255, 128, 0)),
    }
    for name, (pixels, rgb) in cases.items():
        path = tmp_path / name
        if pixels is None:  # OpenCV cannot write grey+alpha: build a colour type 4 PNG by hand
            raw = b"".join(b"\x00" + bytes([40, 200]) * 7 for _ in range(5))
            ihdr = struct.pack(">IIBBBBB", 7, 5, 8, 4, 0, 0, 0)
            chunks = [(b"IHDR", ihdr), (b"IDAT", zlib.compress(raw)), (b"IEND", b"")]
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(
                struct.pack(">I", len(p)) + k + p + struct.pack(">I", zlib.crc32(k + p)) for k, p in chunks))
        else:
            path.write_bytes(_png_bytes(pixels))
        image = read_image_rgb(path)
        assert image.dtype == np.uint8 and image.shape == (5, 7, 3), name
        assert tuple(int(v) for v in image[2, 3]) == rgb, name


# Issue 20 item 6a --------------------------------------------------------------------------------

def test_decompression_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(_bomb_png(20000, 20000))
    assert path.stat().st_size < 2_000_000  # 400 megapixels, 1.2 GB once decoded
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(a))
    with pytest.raises(ImageReadError, match=r"bomb.png: 20000×20000 pixels \(400 megapixels\).*100-megapixel"):
        read_image_rgb(path)
    assert not decoded  # refused before decoding
    with pytest.raises(ImageReadError, match="over the 1-megapixel limit"):
        read_image_rgb(path, max_pixels=1_000_000)


def test_header_sizes_of_every_parsed_format(tmp_path):
    image = np.zeros((37, 53, 3), np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".webp", ".tiff"):
        ok, buf = cv2.imencode(ext, image)
        assert ok and image_header_size(buf.tobytes()) == (53, 37), ext
    ok, buf = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])  # lossless: VP8L
    assert image_header_size(buf.tobytes()) == (53, 37)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    assert image_header_size(jpeg[:10]) is None and image_header_size(b"") is None
    assert image_header_size(b"GIF89a....") is None
    # a small image above a tiny limit is refused after decoding when its header is not parsed
    path = tmp_path / "small.png"
    path.write_bytes(_png_bytes(image))
    assert read_image_rgb(path, max_pixels=53 * 37).shape == (37, 53, 3)
    with pytest.raises(ImageReadError, match="53×37"):
        read_image_rgb(path, max_pixels=53 * 37 - 1)
