"""Small building blocks shared by the backbones, the M1 fusion and the detection modules."""
from __future__ import annotations

import torch
from torch import nn


def conv_unit(c_in: int, c_out: int, *, kernel: int = 3, stride: int = 1, separable: bool = False,
              batch_norm: bool = False, relu: bool = True) -> nn.Sequential:
    """A k×k convolution (optionally depthwise-separable), optional BatchNorm, optional ReLU.

    ``separable`` replaces the dense k×k conv by a depthwise k×k conv followed by a 1×1 conv; the
    pair is linear (no activation between), so it is a drop-in for the dense conv. Padding keeps
    ``ceil(size / stride)``.
    """
    layers: list[nn.Module] = []
    if separable:
        layers.append(nn.Conv2d(c_in, c_in, kernel, stride, kernel // 2, groups=c_in, bias=False))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_in))
        layers.append(nn.Conv2d(c_in, c_out, 1, bias=not batch_norm))
    else:
        layers.append(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=not batch_norm))
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def bilinear_kernel(size: int = 4) -> torch.Tensor:
    """Caffe's "bilinear" filler: separable 1-D kernel, outer product; size 4 gives [.25,.75,.75,.25]."""
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - (torch.arange(size, dtype=torch.float32) - centre).abs() / factor
    return ramp[:, None] * ramp[None, :]


class FixedBilinearUpsample(nn.ConvTranspose2d):
    """×2 up-sampling as SSH does it: a frozen depthwise transposed conv (k4, s2, p1, no bias).

    Interior outputs equal half-pixel bilinear interpolation; the outer row/column get 0.75× (zero
    padding rather than edge clamping). Output size is exactly 2H × 2W. The weight is a parameter with
    ``requires_grad=False`` so it is part of the state dict and of the paper's parameter count.
    """

    def __init__(self, channels: int):
        super().__init__(channels, channels, 4, stride=2, padding=1, groups=channels, bias=False)
        with torch.no_grad():
            self.weight.copy_(bilinear_kernel(4).expand(channels, 1, 4, 4))
        self.weight.requires_grad_(False)

    def reset_parameters(self):  # called by the parent constructor; the kernel is set in __init__
        pass


def init_normal(module: nn.Module, std: float = 0.01) -> None:
    """The paper's initialisation of new layers: weights N(0, std²), biases 0 (convs only)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and not isinstance(m, nn.ConvTranspose2d):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def init_kaiming(module: nn.Module) -> None:
    """He initialisation for convs followed by BatchNorm (training from scratch)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and not isinstance(m, nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
