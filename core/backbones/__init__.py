"""Backbone registry: the only place where a backbone name becomes a module.

A backbone maps an image batch (N, 3, H, W) to ``(c4, c5)``: features at stride 8 and stride 16
(sizes ceil(H/8) and ceil(H/16)), with channel counts given by its ``out_channels`` attribute; ``input_conv`` is its first convolution.
"""
from __future__ import annotations

from torch import nn

from core.backbones.lite import LiteBackbone
from core.backbones.vgg16 import VGG16Backbone, load_torchvision_vgg16

BACKBONES: dict[str, type[nn.Module]] = {"vgg16": VGG16Backbone, "lite": LiteBackbone}

# Backbones with pretrained weights: name -> ``load(backbone module, local file or None for the online copy)``.
PRETRAINED_LOADERS = {"vgg16": load_torchvision_vgg16}


def build_backbone(name: str) -> nn.Module:
    try:
        return BACKBONES[name]()
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONES)}") from None
