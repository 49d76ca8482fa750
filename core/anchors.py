"""SSH anchors, reproducing the original py-faster-rcnn "+1" convention exactly.

Pixel convention: a box [x1, y1, x2, y2] covers the inclusive pixel range x1..x2, so its width is
``x2 - x1 + 1``. The reference window is [0, 0, 15, 15] (centre 7.5); an anchor of side S keeps that
centre. Unlike modern generators (centre at stride/2), the centre offset is 7.5 px at every stride.
Reference values (tested): sizes 16, 32 give [0, 0, 15, 15] and [-8, -8, 23, 23].
"""
from __future__ import annotations

import functools

import torch

REFERENCE_CENTRE = 7.5  # centre of the [0, 0, 15, 15] base window


def cell_anchors(sizes: tuple[int, ...], dtype=torch.float32, device=None) -> torch.Tensor:
    """Anchors of one feature cell at the origin.

    Args:
        sizes: anchor side lengths S, ascending.
    Returns:
        Tensor[A, 4] xyxy (inclusive) boxes ``7.5 ± (S - 1) / 2``.
    """
    half = (torch.as_tensor(sizes, dtype=dtype, device=device) - 1) / 2
    return torch.stack([REFERENCE_CENTRE - half, REFERENCE_CENTRE - half,
                        REFERENCE_CENTRE + half, REFERENCE_CENTRE + half], dim=1)


def grid_anchors(sizes: tuple[int, ...], stride: int, height: int, width: int,
                 dtype=torch.float32, device=None) -> torch.Tensor:
    """All anchors of a feature map, flattened location-major, anchor-minor: index (y·W + x)·A + a.

    Args:
        sizes: anchor side lengths (A of them).
        stride: input pixels per feature cell.
        height, width: feature-map size (H, W).
    Returns:
        Tensor[H·W·A, 4] xyxy anchors in input pixels (not clipped; may extend past the image).
    """
    base = cell_anchors(sizes, dtype, device)  # (A, 4)
    shift_x = torch.arange(width, dtype=dtype, device=device) * stride
    shift_y = torch.arange(height, dtype=dtype, device=device) * stride
    return shifted_anchors(base, shift_x, shift_y)


def shifted_anchors(base: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor) -> torch.Tensor:
    """The cell anchors ``base`` (A, 4) moved to every cell: shifts (W,) and (H,) in input pixels ->
    Tensor[H·W·A, 4], index (y·W + x)·A + a (``core.export`` builds the shifts inside a traced graph)."""
    sy, sx = torch.meshgrid(shift_y, shift_x, indexing="ij")
    shifts = torch.stack([sx, sy, sx, sy], dim=-1).reshape(-1, 1, 4)  # (H·W, 1, 4)
    return (shifts + base.reshape(1, -1, 4)).reshape(-1, 4)


@functools.lru_cache(maxsize=64)
def anchor_grid(sizes: tuple[int, ...], stride: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """``grid_anchors`` in float32 on ``device``, kept for the next call with the same arguments: video
    frames and benchmark images repeat their size, and building the grid is a dozen small operations per
    module per frame. The returned tensor is shared; never modify it in place."""
    return grid_anchors(sizes, stride, height, width, device=device)
