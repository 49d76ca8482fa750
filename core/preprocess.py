"""Frame preprocessing on the model's device: resize rule, normalisation, batching.

Frames are RGB uint8 (H, W, 3) numpy arrays or tensors. Everything after the host-to-device copy of
the uint8 pixels runs on the device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.config import Normalization


def resize_scale(height: int, width: int, short_side: int | None, max_side: int | None,
                 max_pixels: int | None = None) -> float:
    """SSH's rule: scale the short side to ``short_side`` unless the long side would then exceed
    ``max_side`` (rounded), in which case the long side becomes ``max_side``.

    ``short_side=None`` keeps the native size (scale 1), still capped by ``max_side``. ``max_pixels``
    then caps the area: a frame that would be larger is scaled down, aspect kept, so that the resized
    frame (sizes rounded as ``prepare_batch`` rounds them) has at most ``max_pixels`` pixels.
    """
    short, long = min(height, width), max(height, width)
    scale = 1.0 if short_side is None else short_side / short
    if max_side is not None and round(scale * long) > max_side:
        scale = max_side / long
    return cap_scale(scale, height, width, max_pixels)


def cap_scale(scale: float, height: int, width: int, max_pixels: int | None) -> float:
    """``scale``, lowered if needed so that the resized frame (sizes rounded as ``prepare_batch``
    rounds them) has at most ``max_pixels`` pixels (None: unchanged)."""
    if max_pixels is None or max(1, round(height * scale)) * max(1, round(width * scale)) <= max_pixels:
        return scale
    long = max(height, width)
    scale = math.sqrt(max_pixels / (height * width))
    while round(long * scale) > 1 and max(1, round(height * scale)) * max(1, round(width * scale)) > max_pixels:
        scale = (round(long * scale) - 1) / long  # one pixel less on the long side
    return scale


# Frames above this many pixels that are scaled down are first shrunk as uint8 (OpenCV, area
# averaging), so no float copy of the full frame is made: a 20000×20000 frame would need 4.8 GB.
PRESHRINK_PIXELS = 4096 * 4096


def _preshrink(frame, height: int, width: int) -> np.ndarray:
    """RGB uint8 frame (numpy or tensor) -> uint8 numpy (height, width, 3), area-averaged."""
    import cv2

    if isinstance(frame, torch.Tensor):
        frame = frame.cpu().numpy()
    if min(frame.strides) < 0:
        frame = np.ascontiguousarray(frame)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def frame_to_tensor(frame, device: torch.device) -> torch.Tensor:
    """RGB uint8 (H, W, 3) array/tensor -> uint8 tensor (H, W, 3) on ``device``."""
    if isinstance(frame, np.ndarray):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 array of shape (H, W, 3), got {frame.dtype} {frame.shape}")
        # PyAV frames carry row padding: torch handles those strides, so only reversed views are copied
        tensor = torch.from_numpy(frame if min(frame.strides) > 0 else np.ascontiguousarray(frame))
    elif isinstance(frame, torch.Tensor):
        if frame.dtype != torch.uint8 or frame.dim() != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 tensor of shape (H, W, 3), got {frame.dtype} {tuple(frame.shape)}")
        tensor = frame
    else:
        raise TypeError(f"expected a numpy array or tensor frame, got {type(frame).__name__}")
    if tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ValueError("empty frame")
    non_blocking = device.type == "cuda" and tensor.device.type == "cpu" and tensor.is_pinned()
    return tensor.to(device, non_blocking=non_blocking)


def normalize_hwc(pixels: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """uint8 or float (..., H, W, 3) RGB in 0..255 -> float32 network input, channels last.

    One fused multiply-add: ``pixel · (scale / std) - mean / std`` per channel.
    """
    mean = torch.tensor(norm.mean, device=pixels.device)
    std = torch.tensor(norm.std, device=pixels.device)
    multiplier, offset = norm.scale / std, -mean / std
    if norm.channel_order == "BGR":
        pixels = pixels.flip(-1)
    return torch.addcmul(offset, pixels.float(), multiplier)


@dataclass
class Batch:
    """A padded batch of resized, normalised frames.

    Attributes:
        images: (N, 3, Hp, Wp) float32, channels-last or contiguous, padded bottom/right with zeros
            to a multiple of ``pad_to`` when frames differ in size.
        sizes: (N, 2) int64 (height, width) of each resized frame inside the padding.
        scales: (N,) float32 resize factor of each frame (resized = original · scale).
    """

    images: torch.Tensor
    sizes: torch.Tensor
    scales: torch.Tensor


def _empty_image(height: int, width: int, channels_last: bool, device: torch.device) -> torch.Tensor:
    """Uninitialised float32 (1, 3, height, width), channels-last or contiguous."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty((1, 3, height, width), device=device, memory_format=layout)


def normalised_canvas(pixels: torch.Tensor, pixel_offset: torch.Tensor, height: int, width: int,
                      pad_bottom: int = 0, pad_right: int = 0, channels_last: bool = True) -> torch.Tensor:
    """uint8 (H, W, 3) pixels -> float32 (1, 3, height + pad_bottom, width + pad_right): ``pixel −
    pixel_offset`` resized (bilinear) to height × width, the last row repeated ``pad_bottom`` times below,
    then the last column ``pad_right`` times to the right. Memory layout channels-last (what the torch
    graph wants) or contiguous NCHW (what ONNX Runtime reads without a copy).

    At the frame's own size this is a converting copy into the padded canvas and an in-place
    subtraction: on a 2-core CPU about 1 ms per 640×480 frame, where a mixed uint8/float ``sub`` took
    3–6 ms and a separate replicate-pad or layout change about 3 ms more."""
    h, w = pixels.shape[:2]
    offset = pixel_offset.view(1, 3, 1, 1)
    source = pixels.permute(2, 0, 1).unsqueeze(0)
    resized = (height, width) != (h, w)
    if resized:
        image = _empty_image(h, w, channels_last, pixels.device)
        image.copy_(source).sub_(offset)
        image = F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False)
        if not (pad_bottom or pad_right):
            return image  # interpolate keeps the input's memory layout
    canvas = _empty_image(height + pad_bottom, width + pad_right, channels_last, pixels.device)
    inner = canvas[:, :, :height, :width]
    if resized:
        inner.copy_(image)
    else:
        inner.copy_(source).sub_(offset)
    canvas[:, :, height:, :width] = inner[:, :, -1:]
    canvas[:, :, :, width:] = canvas[:, :, :, width - 1:width]
    return canvas


def prepare_batch(frames, device: torch.device, pixel_offset: torch.Tensor,
                  scale_for: Callable[[int, int], float], pad_to: int = 32, pad_bottom: int = 0,
                  pad_right: int = 0, channels_last: bool = True) -> Batch:
    """Resize (bilinear, like cv2.INTER_LINEAR), centre and pad frames into one batch.

    The images are ``pixel − pixel_offset`` (RGB): the rest of the input normalisation lives in the
    model's first convolution (``core.fold.fold_input_normalization``), so this is one pass per frame.

    Args:
        frames: RGB uint8 (H, W, 3) numpy arrays or tensors (any device).
        pixel_offset: (3,) float32 per-channel offset, on ``device``.
        scale_for: (height, width) -> resize factor of that frame. Frames over ``PRESHRINK_PIXELS``
            that are scaled down are area-averaged as uint8 on the CPU first (memory), others
            resized bilinearly on the device.
        pad_bottom, pad_right: edge-replicated rows / columns added to each resized frame; ``sizes``
            excludes them, so boxes are clipped to the frame itself.
        channels_last: memory layout of ``images`` (else contiguous NCHW).
    """
    tensors, sizes, scales = [], [], []
    for frame in frames:
        shape = getattr(frame, "shape", ())
        shrunk = None
        if len(shape) == 3 and shape[0] * shape[1] > PRESHRINK_PIXELS:
            h, w = shape[:2]
            scale = scale_for(h, w)
            new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
            uint8 = frame.dtype == (np.uint8 if isinstance(frame, np.ndarray) else torch.uint8)
            if new_h * new_w < h * w and uint8 and shape[2] == 3:
                shrunk = _preshrink(frame, new_h, new_w)
        pixels = frame_to_tensor(frame if shrunk is None else shrunk, device)
        if shrunk is None:
            h, w = pixels.shape[:2]
            scale = scale_for(h, w)
            new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
        tensors.append(normalised_canvas(pixels, pixel_offset, new_h, new_w, pad_bottom, pad_right, channels_last))
        sizes.append((new_h, new_w))
        scales.append(scale)
    if len(tensors) == 1:
        images = tensors[0]
    elif all(t.shape == tensors[0].shape for t in tensors):
        images = torch.cat(tensors)
    else:
        pad_h = math.ceil(max(t.shape[2] for t in tensors) / pad_to) * pad_to
        pad_w = math.ceil(max(t.shape[3] for t in tensors) / pad_to) * pad_to
        images = torch.zeros(len(tensors), 3, pad_h, pad_w, device=device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        for i, t in enumerate(tensors):
            images[i, :, : t.shape[2], : t.shape[3]] = t[0]
    return Batch(images, torch.tensor(sizes, device=device), torch.tensor(scales, device=device))
