"""Appearance degradations of real footage for training: occluded lower faces, blur, low light, noise.

Pure functions of (image, boxes, rng) on RGB uint8 (H, W, 3) images with float32 (M, 4) xyxy boxes;
boxes never move (an occluded face is still a face to find). WIDER's training faces are mostly
unobstructed, sharp and well lit, while users point the detector at masked faces, hands over mouths,
webcams in dim rooms and motion-blurred clips: these transforms put such faces in the training crops.
"""
from __future__ import annotations

import cv2
import numpy as np

# Colours of things worn or held in front of faces: surgical blue/white/black masks, skin tones, scarves.
OCCLUDER_COLOURS = np.array([
    (160, 200, 225), (235, 240, 245), (30, 30, 35), (120, 150, 190),   # masks
    (224, 172, 140), (198, 134, 103), (141, 85, 54), (90, 56, 37),     # skin (hands)
    (150, 40, 40), (60, 90, 60), (200, 170, 90), (90, 80, 120),        # scarves, fabric
], dtype=np.float32)


def occlude_faces(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, probability: float = 0.3,
                  min_side: float = 12.0) -> np.ndarray:
    """Cover part of each face at least ``min_side`` px high, independently with ``probability``.

    The occluder spans the lower 30–65 % of the box (a mask, a scarf, a hand over the mouth), or, one
    time in five, a vertical strip of 25–50 % of the width from one side (a hand, a phone, another
    head). It is a filled polygon with rounded corners in one of ``OCCLUDER_COLOURS`` with shading and
    noise, or a patch of the image's own texture from elsewhere (so colour alone does not give it away).
    """
    if probability <= 0 or len(boxes) == 0:
        return image
    out = image.copy()
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in boxes:
        bw, bh = x2 - x1, y2 - y1
        if bh < min_side or rng.random() >= probability:
            continue
        if rng.random() < 0.8:
            top = y1 + bh * rng.uniform(0.35, 0.7)
            region = (x1 - bw * rng.uniform(0, 0.15), top, x2 + bw * rng.uniform(0, 0.15), y2 + bh * rng.uniform(0, 0.2))
        else:
            width = bw * rng.uniform(0.25, 0.5)
            left = x1 - bw * 0.1 if rng.random() < 0.5 else x2 + bw * 0.1 - width
            region = (left, y1 + bh * rng.uniform(0, 0.3), left + width, y2 + bh * rng.uniform(0, 0.2))
        rx1, ry1 = int(max(0, np.floor(region[0]))), int(max(0, np.floor(region[1])))
        rx2, ry2 = int(min(w, np.ceil(region[2]))), int(min(h, np.ceil(region[3])))
        if rx2 - rx1 < 2 or ry2 - ry1 < 2:
            continue
        mask = _rounded_mask(ry2 - ry1, rx2 - rx1, rng)
        fill = _occluder_fill(image, ry2 - ry1, rx2 - rx1, rng)
        patch = out[ry1:ry2, rx1:rx2].astype(np.float32)
        out[ry1:ry2, rx1:rx2] = (patch * (1 - mask) + fill * mask).astype(np.uint8)
    return out


def _rounded_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 1) float mask of a filled ellipse or rounded rectangle, edges softened by one pixel."""
    mask = np.zeros((h, w), np.uint8)
    if rng.random() < 0.5:
        cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0, 0, 360, 255, -1)
    else:
        r = max(1, int(min(h, w) * rng.uniform(0.1, 0.35)))
        cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
        cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
        for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
            cv2.circle(mask, (cx, cy), r, 255, -1)
    mask = cv2.GaussianBlur(mask, (3, 3), 0)
    return (mask.astype(np.float32) / 255.0)[..., None]


def _occluder_fill(image: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float pixels: a shaded flat colour with noise, or a random patch of ``image`` itself."""
    ih, iw = image.shape[:2]
    if rng.random() < 0.3 and ih > h and iw > w:
        y, x = int(rng.integers(0, ih - h)), int(rng.integers(0, iw - w))
        return image[y:y + h, x:x + w].astype(np.float32)
    colour = OCCLUDER_COLOURS[rng.integers(len(OCCLUDER_COLOURS))] * rng.uniform(0.7, 1.15)
    shade = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.1), h, dtype=np.float32)[:, None, None]
    noise = rng.normal(0, rng.uniform(1, 8), (h, w, 1)).astype(np.float32)
    return np.clip(colour[None, None, :] * shade + noise, 0, 255)


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus (Gaussian, sigma 0.6–2.5 px) or motion blur (a line kernel of 3–11 px at a random angle)."""
    if rng.random() < 0.5:
        return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 2.5))
    length = int(rng.integers(3, 12))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def low_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim, noisy exposure: gamma 1.5–3 darkening with a small gain, then sensor noise stronger in the
    dark (Gaussian, sigma 2–10 grey levels), as a webcam in a dim room gives."""
    x = image.astype(np.float32) / 255.0
    x = np.power(x, rng.uniform(1.5, 3.0)) * rng.uniform(0.6, 1.0)
    noise = rng.normal(0, rng.uniform(2, 10) / 255.0, x.shape).astype(np.float32)
    return (np.clip(x + noise * (1.0 - x), 0, 1) * 255).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-encode as JPEG at quality 15–60 (block artefacts of streamed and re-compressed footage)."""
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 61))])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode a training image")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


DEGRADATIONS = (blur, low_light, jpeg)


def degrade(image: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
    """With ``probability``, one of ``DEGRADATIONS`` drawn uniformly; otherwise the image unchanged."""
    if probability <= 0 or rng.random() >= probability:
        return image
    return DEGRADATIONS[int(rng.integers(len(DEGRADATIONS)))](image, rng)
