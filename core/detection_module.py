"""The SSH detection module: a 3×3 branch, a context module (5×5 and 7×7 via stacked 3×3s), heads."""
from __future__ import annotations

import torch
from torch import nn

from core.layers import conv_unit


class ContextModule(nn.Module):
    """``ssh_dimred`` (3×3, X/2, ReLU) shared by a 5×5 branch (one more 3×3, no ReLU) and a 7×7
    branch (3×3 + ReLU, then 3×3, no ReLU). Output: concat [5×5, 7×7], X channels, pre-activation."""

    def __init__(self, c_in: int, channels: int, *, separable: bool, batch_norm: bool):
        super().__init__()
        half = channels // 2
        unit = dict(separable=separable, batch_norm=batch_norm)
        self.dimred = conv_unit(c_in, half, relu=True, **unit)
        self.branch5 = conv_unit(half, half, relu=False, **unit)
        self.branch7_1 = conv_unit(half, half, relu=True, **unit)
        self.branch7_2 = conv_unit(half, half, relu=False, **unit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.dimred(x)
        return torch.cat([self.branch5(shared), self.branch7_2(self.branch7_1(shared))], dim=1)


class DetectionModule(nn.Module):
    """One of M1/M2/M3.

    Outputs (not decoded, not thresholded):
        cls_logits (N, 2A, H, W): channels [0, A) background logits of anchors 0..A-1, [A, 2A) face
            logits (the Caffe softmax pairing of channel a with A + a).
        bbox_deltas (N, 4A, H, W): channel 4a + k is delta k ∈ (dx, dy, dw, dh) of anchor a.
    """

    def __init__(self, c_in: int, channels: int, num_anchors: int, *, separable: bool = False,
                 batch_norm: bool = False):
        super().__init__()
        unit = dict(separable=separable, batch_norm=batch_norm)
        self.conv3x3 = conv_unit(c_in, channels, relu=False, **unit)
        self.context = ContextModule(c_in, channels, **unit)
        self.cls_head = nn.Conv2d(2 * channels, 2 * num_anchors, 1)
        self.bbox_head = nn.Conv2d(2 * channels, 4 * num_anchors, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.relu(torch.cat([self.conv3x3(x), self.context(x)], dim=1))
        return self.cls_head(features), self.bbox_head(features)
