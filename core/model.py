"""The SSH network: backbone, M1 fusion, M3 pooling and one detection module per level.

It returns raw per-level outputs; anchors, decoding, thresholds and NMS live in ``core.inference``.
"""
from __future__ import annotations

import torch
from torch import nn

from core.backbones import build_backbone
from core.config import LevelSpec, ModelConfig
from core.detection_module import DetectionModule
from core.fusion import StrideEightFusion
from core.layers import init_kaiming, init_normal

LevelOutput = tuple[torch.Tensor, torch.Tensor]  # (cls_logits (N, 2A, H, W), bbox_deltas (N, 4A, H, W))


class SSH(nn.Module):
    """Single Stage Headless face detector.

    Input: (N, 3, H, W) normalised images. Output: one ``(cls_logits, bbox_deltas)`` pair per level in
    ``levels`` order (M1 at stride 8 on the fused c4/c5, M2 at stride 16 on c5, M3 at stride 32 on a
    ceil-mode 2×2 max-pool of c5).
    """

    def __init__(self, backbone: nn.Module, *, levels: tuple[LevelSpec, ...], fusion_channels: int,
                 separable: bool = False, batch_norm: bool = False):
        super().__init__()
        if [lv.stride for lv in levels] != [8, 16, 32]:
            raise ValueError("SSH expects three levels at strides 8, 16, 32")
        c4_channels, c5_channels = backbone.out_channels
        unit = dict(separable=separable, batch_norm=batch_norm)
        self.backbone = backbone
        self.fusion = StrideEightFusion(c4_channels, c5_channels, fusion_channels, **unit)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        inputs = {8: fusion_channels, 16: c5_channels, 32: c5_channels}
        self.heads = nn.ModuleDict({
            lv.name: DetectionModule(inputs[lv.stride], lv.channels, lv.num_anchors, **unit) for lv in levels
        })
        self.level_names = tuple(lv.name for lv in levels)

    def forward(self, images: torch.Tensor) -> list[LevelOutput]:
        c4, c5 = self.backbone(images)
        level_inputs = (self.fusion(c4, c5), c5, self.pool(c5))
        return [self.heads[name](x) for name, x in zip(self.level_names, level_inputs)]


class FlatOutputs(nn.Module):
    """Wraps an SSH so it returns a flat tuple (cls M1, reg M1, cls M2, ...): what tracing and ONNX
    export accept. ``pair_outputs`` turns it back into one pair per level."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t for pair in self.model(images) for t in pair)


def pair_outputs(flat) -> list[LevelOutput]:
    """(cls M1, reg M1, cls M2, ...) -> [(cls M1, reg M1), (cls M2, reg M2), ...]."""
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def build_ssh(config: ModelConfig) -> SSH:
    """Build a freshly initialised SSH from its config (paper init for VGG, He init with BatchNorm)."""
    model = SSH(build_backbone(config.backbone), levels=config.levels, fusion_channels=config.fusion_channels,
                separable=config.separable, batch_norm=config.batch_norm)
    new_layers = [model.fusion, model.heads]
    for part in new_layers:
        (init_kaiming if config.batch_norm else init_normal)(part)
    if config.batch_norm:
        init_kaiming(model.backbone)
        for head in model.heads.values():  # small output layers keep the paper's N(0, 0.01)
            init_normal(head.cls_head)
            init_normal(head.bbox_head)
    return model


def flatten_cls(cls_logits: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """(N, 2A, H, W) -> (N, H·W·A, 2) [background, face] logits, flattened (y, x, a)."""
    n, _, h, w = cls_logits.shape
    return cls_logits.view(n, 2, num_anchors, h, w).permute(0, 3, 4, 2, 1).reshape(n, h * w * num_anchors, 2)


def flatten_deltas(bbox_deltas: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """(N, 4A, H, W) -> (N, H·W·A, 4) (dx, dy, dw, dh), flattened (y, x, a)."""
    n, _, h, w = bbox_deltas.shape
    return bbox_deltas.view(n, num_anchors, 4, h, w).permute(0, 3, 4, 1, 2).reshape(n, h * w * num_anchors, 4)
