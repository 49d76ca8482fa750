"""Fold BatchNorm into the preceding convolution for inference."""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from core.config import Normalization


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Return an eval-mode copy of ``model`` where every Conv2d directly followed by a BatchNorm2d in a
    ``nn.Sequential`` becomes a single conv with bias (identical outputs up to float rounding)."""
    model = copy.deepcopy(model).eval()
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        children = list(seq.children())
        fused, i = [], 0
        while i < len(children):
            layer = children[i]
            nxt = children[i + 1] if i + 1 < len(children) else None
            if isinstance(layer, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d):
                fused.append(fuse_conv_bn_eval(layer, nxt))
                i += 2
            else:
                fused.append(layer)
                i += 1
        if len(fused) != len(children):
            for name in list(seq._modules):
                del seq._modules[name]
            for j, layer in enumerate(fused):
                seq.add_module(str(j), layer)
    return model


def fold_input_normalization(model: nn.Module, norm: Normalization) -> tuple[nn.Module, torch.Tensor]:
    """Move the per-channel input scaling (and a BGR channel swap) into the first convolution.

    The network input ``(pixel[order] · scale − mean) / std`` equals ``m · (pixel[order] − offset)`` with
    ``m = scale / std`` and ``offset = mean / scale``. Scaling the first conv's input channels by ``m``
    (and permuting them for BGR) lets preprocessing be a single ``pixel − offset`` on RGB pixels; its
    zero padding still corresponds to a normalised value of 0, so outputs are unchanged.

    Returns:
        (a copy of ``model`` with the folded first conv, offset (3,) float32 in RGB order).
    """
    model = copy.deepcopy(model)
    conv = model.backbone.input_conv
    multiplier = torch.tensor(norm.scale) / torch.tensor(norm.std)
    offset = torch.tensor(norm.mean) / norm.scale
    with torch.no_grad():
        weight = conv.weight * multiplier.view(1, 3, 1, 1)
        if norm.channel_order == "BGR":  # the weights expect B, G, R: reorder them for RGB input
            weight, offset = weight.flip(1), offset.flip(0)
        conv.weight.copy_(weight)
    return model, offset.float()
