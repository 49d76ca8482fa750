"""Fold BatchNorm into the preceding convolution for inference."""
from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


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
