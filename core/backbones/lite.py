"""A small BatchNorm backbone for real-time CPU use, trainable from scratch.

Depthwise-separable blocks with 5×5 depthwise kernels (a large receptive field for little compute,
as BlazeFace/YuNet do). Stem at stride 2, stages at strides 4, 8 (``c4``, 64 ch) and 16 (``c5``, 128 ch).
"""
from __future__ import annotations

import torch
from torch import nn

from core.layers import conv_unit

# (out channels, stride of the first block, number of blocks) per stage
LITE_STAGES = ((24, 2, 1), (64, 2, 2), (128, 2, 3))


class LiteBackbone(nn.Module):
    out_channels = (64, 128)

    def __init__(self):
        super().__init__()
        self.stem = conv_unit(3, 16, kernel=3, stride=2, batch_norm=True)
        stages, c_in = [], 16
        for c_out, stride, blocks in LITE_STAGES:
            layers = []
            for b in range(blocks):
                layers.append(conv_unit(c_in, c_out, kernel=5, stride=stride if b == 0 else 1,
                                        separable=True, batch_norm=True))
                c_in = c_out
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)

    @property
    def input_conv(self) -> nn.Conv2d:
        return self.stem[0]

    def parts(self) -> list[nn.Module]:
        """The stem, then the stages (strides 4, 8, 16): the units that fine-tuning may freeze."""
        return [self.stem, *self.stages]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, H, W) -> c4 (N, 64, ⌈H/8⌉, ⌈W/8⌉), c5 (N, 128, ⌈H/16⌉, ⌈W/16⌉)."""
        c4 = self.stages[1](self.stages[0](self.stem(x)))
        return c4, self.stages[2](c4)
