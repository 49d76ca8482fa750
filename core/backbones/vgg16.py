"""Headless VGG-16 (conv1_1 … conv5_3) with Caffe ceil-mode pooling, as SSH uses it.

conv1_x and conv2_x are frozen (``requires_grad=False``), as in the reference code. Weights can be
taken from torchvision's ImageNet VGG-16 (``load_torchvision_vgg16``); the model config then uses
torchvision's input convention (RGB, /255, ImageNet mean/std).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (block, number of convs, out channels)
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
FROZEN_BLOCKS = (1, 2)


def torchvision_feature_indices() -> dict[str, int]:
    """Index of each conv inside torchvision's ``vgg16().features`` (ReLU after each, pool after blocks)."""
    indices, position = {}, 0
    for block, n, _ in VGG16_BLOCKS:
        for i in range(1, n + 1):
            indices[f"conv{block}_{i}"] = position
            position += 2  # conv, relu
        position += 1  # pool
    return indices


class VGG16Backbone(nn.Module):
    out_channels = (512, 512)

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict()
        c_in = 3
        for block, n, c_out in VGG16_BLOCKS:
            for i in range(1, n + 1):
                self.convs[f"conv{block}_{i}"] = nn.Conv2d(c_in, c_out, 3, padding=1)
                c_in = c_out
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        for name, conv in self.convs.items():
            if int(name[4]) in FROZEN_BLOCKS:
                conv.requires_grad_(False)

    @property
    def input_conv(self) -> nn.Conv2d:
        return self.convs["conv1_1"]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, H, W) -> conv4_3 (N, 512, ⌈H/8⌉, ⌈W/8⌉), conv5_3 (N, 512, ⌈H/16⌉, ⌈W/16⌉), post-ReLU."""
        conv4_3 = None
        for block, n, _ in VGG16_BLOCKS:
            if block > 1:
                x = self.pool(x)
            for i in range(1, n + 1):
                x = torch.relu(self.convs[f"conv{block}_{i}"](x))
            if block == 4:
                conv4_3 = x
        return conv4_3, x


def map_torchvision_vgg16(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torchvision ``vgg16`` state dict to this backbone's keys (``convs.conv4_3.weight``...).

    Raises ``KeyError`` naming the first missing torchvision key.
    """
    mapped = {}
    for name, index in torchvision_feature_indices().items():
        for kind in ("weight", "bias"):
            key = f"features.{index}.{kind}"
            if key not in state_dict:
                raise KeyError(f"not a torchvision VGG-16 state dict: missing {key!r}")
            mapped[f"convs.{name}.{kind}"] = state_dict[key]
    return mapped


def load_torchvision_vgg16(backbone: VGG16Backbone, source: str | Path | None = None) -> None:
    """Initialise from torchvision's ImageNet VGG-16 weights.

    Args:
        source: a local ``.pth`` state dict (e.g. ``vgg16-397923af.pth``), or None to use
            torchvision's weights API (downloads once into the torch hub cache; needs network).

    A local file is user input: it loads with ``weights_only=True`` (no code in it runs), and a file
    that is unreadable, not a VGG-16 state dict, mis-shaped or not finite raises ``CheckpointError``
    naming it.
    """
    from core.checkpoint import (  # lazily: no import cycle
        CheckpointError,
        check_finite,
        load_torch_file,
    )

    if source is None:
        from torchvision.models import VGG16_Weights

        state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
        path = None
    else:
        path = Path(source)
        state = load_torch_file(path, "VGG-16 weights file")
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{path}: not a VGG-16 state dict (expected a dict of tensors, "
                                  f"found {type(state).__name__})")
    try:
        mapped = map_torchvision_vgg16(state)
    except KeyError as exc:
        raise CheckpointError(f"{path or 'torchvision VGG-16 weights'}: {exc.args[0]}") from None
    expected = backbone.state_dict()
    wrong = [k for k, v in mapped.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if wrong:
        raise CheckpointError(f"{path}: not VGG-16 weights ({wrong[0]} has shape {tuple(mapped[wrong[0]].shape)}, "
                              f"expected {tuple(expected[wrong[0]].shape)})")
    check_finite(mapped, path)
    backbone.load_state_dict(mapped, strict=True)
