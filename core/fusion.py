"""The M1 input of SSH: conv4_3 and conv5_3 fused at stride 8."""
from __future__ import annotations

import torch
from torch import nn

from core.layers import FixedBilinearUpsample, conv_unit


class StrideEightFusion(nn.Module):
    """1×1 reductions (+ReLU) of c4 and c5, fixed bilinear ×2 of c5, top-left crop, sum, 3×3 (+ReLU).

    Matches ``conv4_128``, ``conv5_128``, ``conv5_128_up``, ``conv5_128_crop``, ``conv4_fuse`` and
    ``conv4_fuse_final`` of the reference prototxt (no ReLU after the sum).
    """

    def __init__(self, c4_channels: int, c5_channels: int, channels: int, *, separable: bool = False,
                 batch_norm: bool = False):
        super().__init__()
        self.reduce_c4 = conv_unit(c4_channels, channels, kernel=1, batch_norm=batch_norm)
        self.reduce_c5 = conv_unit(c5_channels, channels, kernel=1, batch_norm=batch_norm)
        self.upsample = FixedBilinearUpsample(channels)
        self.fuse = conv_unit(channels, channels, separable=separable, batch_norm=batch_norm)

    def forward(self, c4: torch.Tensor, c5: torch.Tensor) -> torch.Tensor:
        """c4 (N, C4, h4, w4), c5 (N, C5, h5, w5) with 2·h5 ∈ {h4, h4 + 1} -> (N, channels, h4, w4)."""
        reduced_c4 = self.reduce_c4(c4)
        up = self.upsample(self.reduce_c5(c5))[:, :, : c4.shape[2], : c4.shape[3]]
        return self.fuse(reduced_c4 + up)
