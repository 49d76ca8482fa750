"""Training-time image/box transforms: pure functions of (image, boxes, rng).

Images are RGB uint8 (H, W, 3); boxes float32 (M, 4) xyxy with x2 = x + w (WIDER convention).
The paper uses only the horizontal flip and a fixed-scale resize; random square crops and
photometric jitter are for training from scratch or on little data.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.preprocess import resize_scale
from training.degrade import degrade, occlude_faces


def clip_and_drop(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clip to the image (x2 ≤ W, y2 ≤ H as the reference) and drop boxes narrower than one pixel."""
    boxes = boxes.copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    keep = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    return boxes[keep]


def hflip(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror horizontally; boxes as the reference: x1' = W − x2 − 1, x2' = W − x1 − 1."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0] = width - boxes[:, 2] - 1
    flipped[:, 2] = width - boxes[:, 0] - 1
    return np.ascontiguousarray(image[:, ::-1]), flipped


def resize(image: np.ndarray, boxes: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear resize by ``scale`` (cv2.INTER_LINEAR, as the reference)."""
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image, boxes
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), boxes * np.float32(scale)


def random_square_crop(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator,
                       scales=(0.3, 0.45, 0.6, 0.8, 1.0), tries: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Crop a square of side ``s · min(H, W)`` (s from ``scales``) at a random place, keeping faces whose
    centre falls inside (clipped to the crop). Retries until a face survives when the image has any.

    A side longer than the short side (s > 1) zooms out: the image is first placed
    at a random spot of a black canvas large enough for the square, so the detector also sees faces
    smaller than the image gives and learns that black borders (letterboxing) are background."""
    for attempt in range(tries):
        side = max(1, int(min(image.shape[:2]) * rng.choice(scales)))
        canvas, shifted = pad_to_fit(image, boxes, side, rng)
        h, w = canvas.shape[:2]
        x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        centres = (shifted[:, :2] + shifted[:, 2:]) / 2
        inside = ((centres[:, 0] >= x0) & (centres[:, 0] < x0 + side)
                  & (centres[:, 1] >= y0) & (centres[:, 1] < y0 + side))
        if inside.any() or len(boxes) == 0 or attempt == tries - 1:
            kept = shifted[inside] - np.array([x0, y0, x0, y0], dtype=np.float32)
            return canvas[y0:y0 + side, x0:x0 + side], clip_and_drop(kept, side, side)
    raise AssertionError("unreachable")


def pad_to_fit(image: np.ndarray, boxes: np.ndarray, side: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W, C) on a black canvas of at least ``side`` × ``side`` at a random offset, with
    ``boxes`` shifted to match; unchanged when it already holds such a square."""
    h, w = image.shape[:2]
    if h >= side and w >= side:
        return image, boxes
    ch, cw = max(h, side), max(w, side)
    oy, ox = int(rng.integers(0, ch - h + 1)), int(rng.integers(0, cw - w + 1))
    canvas = np.zeros((ch, cw) + image.shape[2:], dtype=image.dtype)
    canvas[oy:oy + h, ox:ox + w] = image
    return canvas, boxes + np.array([ox, oy, ox, oy], dtype=np.float32)


def random_border_bands(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator,
                        max_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a square image by up to ``max_fraction`` of its side and surround it with bands, at a
    random offset, so the side stays the same: edge-replicated pixels or one flat colour (black half the
    time). Boxes follow the content.

    Letterbox-like borders for footage that has them. Not a fix for a model firing on frame edges: that
    came from untrained edge-crossing anchors (``TrainConfig.allowed_border``), and bands alone made it
    worse in a trial (model card)."""
    side = image.shape[0]
    band = int(rng.integers(max(1, side // 60), max(2, int(side * max_fraction)) + 1))
    inner = side - band
    top, left = int(rng.integers(0, band + 1)), int(rng.integers(0, band + 1))
    content = cv2.resize(image, (inner, inner), interpolation=cv2.INTER_LINEAR)
    sides = (top, band - top, left, band - left)
    if rng.random() < 0.5:
        out = cv2.copyMakeBorder(content, *sides, cv2.BORDER_REPLICATE)
    else:
        colour = (0, 0, 0) if rng.random() < 0.5 else tuple(int(c) for c in rng.integers(0, 256, 3))
        out = cv2.copyMakeBorder(content, *sides, cv2.BORDER_CONSTANT, value=colour)
    moved = boxes * np.float32(inner / side) + np.array([left, top, left, top], dtype=np.float32)
    return out, clip_and_drop(moved, side, side)


_UINT8_VALUES = np.arange(256, dtype=np.float32)  # every uint8 value, for the lookup tables below
_UINT8_VALUES.flags.writeable = False
_IDENTITY_LUT = np.arange(256, dtype=np.uint8)


def photometric_jitter(image: np.ndarray, rng: np.random.Generator, brightness: float = 32,
                       contrast: tuple[float, float] = (0.6, 1.4), saturation: tuple[float, float] = (0.6, 1.4),
                       hue: float = 12) -> np.ndarray:
    """Random brightness shift (probability 0.5), contrast scaling (0.5), and saturation scaling with a hue
    shift together (0.75: two chances of 0.5, as the embedded model was trained). uint8 (H, W, 3) RGB in
    and out.

    Every step is a function of one uint8 value, so each is applied as a 256-entry lookup table, computed
    in float32 exactly as the arithmetic on the whole image would be: the same pixels, 6× faster on a 640² crop
    (this ran once per crop and mosaic tile, and was the loader's largest cost)."""
    level = _UINT8_VALUES.copy()
    if rng.random() < 0.5:
        level += rng.uniform(-brightness, brightness)
    if rng.random() < 0.5:
        level *= rng.uniform(*contrast)
    out = cv2.LUT(image, level.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.5 or rng.random() < 0.5:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        saturation_lut = (_UINT8_VALUES * rng.uniform(*saturation)).clip(0, 255).astype(np.uint8)
        hue_lut = ((_UINT8_VALUES + rng.uniform(-hue, hue)) % 180).clip(0, 255).astype(np.uint8)
        channel_luts = np.stack([hue_lut, saturation_lut, _IDENTITY_LUT], axis=1)
        out = cv2.cvtColor(cv2.LUT(hsv, channel_luts.reshape(256, 1, 3)), cv2.COLOR_HSV2RGB)
    return out


def mosaic(tiles: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Four square (S, S, 3) images with their boxes -> one (2S, 2S, 3) image, tiles in reading order
    (top-left, top-right, bottom-left, bottom-right), boxes shifted with their tile.

    Mosaic augmentation (Bochkovskiy et al., YOLOv4, 2020): one training image shows four scenes at half
    the scale, so a small dataset yields more varied context and more faces per crop near the test
    scale, and the seams between tiles are edges that are not faces."""
    if len(tiles) != 4:
        raise ValueError(f"a mosaic needs 4 tiles, got {len(tiles)}")
    side = tiles[0][0].shape[0]
    if any(image.shape[:2] != (side, side) for image, _ in tiles):
        raise ValueError(f"mosaic tiles must all be {side}×{side}: {[image.shape[:2] for image, _ in tiles]}")
    rows = [np.concatenate([tiles[0][0], tiles[1][0]], axis=1), np.concatenate([tiles[2][0], tiles[3][0]], axis=1)]
    offsets = [(0, 0), (side, 0), (0, side), (side, side)]
    boxes = [b.reshape(-1, 4) + np.array([x, y, x, y], dtype=np.float32) for (_, b), (x, y) in zip(tiles, offsets)]
    return np.concatenate(rows, axis=0), np.concatenate(boxes, axis=0).astype(np.float32)


@dataclass(frozen=True)
class PaperTransform:
    """Reference augmentation: random horizontal flip (the reference doubles the data with flips) and
    the fixed "short side 1200, long side ≤ 1600" resize."""

    short_side: int = 1200
    max_side: int = 1600
    flip: bool = True

    def __call__(self, image, boxes, rng):
        h, w = image.shape[:2]
        boxes = clip_and_drop(boxes, h, w)
        if self.flip and rng.random() < 0.5:
            image, boxes = hflip(image, boxes)
        return resize(image, boxes, resize_scale(h, w, self.short_side, self.max_side))


@dataclass(frozen=True)
class CropTransform:
    """From-scratch augmentation: random square crop, flip, occluders over faces (each face with
    probability ``occlusion``), photometric jitter, resize to ``size``², then with probability
    ``degrade`` one of blur, low light or JPEG artefacts (``training.degrade``), and with probability
    ``border_bands`` border bands (``random_border_bands``)."""

    size: int = 640
    scales: tuple[float, ...] = (0.3, 0.45, 0.6, 0.8, 1.0)
    flip: bool = True
    jitter: bool = True
    border_bands: float = 0.0
    occlusion: float = 0.0
    degrade: float = 0.0

    def __call__(self, image, boxes, rng):
        h, w = image.shape[:2]
        image, boxes = random_square_crop(image, clip_and_drop(boxes, h, w), rng, self.scales)
        if self.flip and rng.random() < 0.5:
            image, boxes = hflip(image, boxes)
        image = occlude_faces(image, boxes, rng, self.occlusion)
        if self.jitter:
            image = photometric_jitter(image, rng)
        side = image.shape[0]
        image = cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        boxes = clip_and_drop(boxes * np.float32(self.size / side), self.size, self.size)
        image = degrade(image, rng, self.degrade)
        if self.border_bands and rng.random() < self.border_bands:
            image, boxes = random_border_bands(image, boxes, rng)
        return image, boxes


# ``TrainConfig.augment`` -> the transform its config describes: ``builder(config)(image, boxes, rng)``.
AUGMENTATIONS = {
    "paper": lambda config: PaperTransform(config.short_side, config.max_side),
    "crop": lambda config: CropTransform(config.crop_size, config.crop_scales, border_bands=config.border_bands,
                                         occlusion=config.occlusion, degrade=config.degrade),
}
