"""Freezing the first parts of a backbone for fine-tuning (detectron2's ``FREEZE_AT``).

A frozen part keeps its weights and its BatchNorm statistics (it runs in eval mode even while the rest
of the model trains), and no gradient is computed through it. For ``ssh_lite`` the stem and the stride-4
stage run at the two highest resolutions and cost 30–40 % of a training step on a CPU (their
BatchNorm and depthwise backward passes are memory-bound), while learning only generic edge and colour
filters that a model trained from scratch has long settled.
"""
from __future__ import annotations

from torch import nn


def backbone_parts(model: nn.Module) -> list[nn.Module]:
    """The backbone's parts in input order (``LiteBackbone``: stem, then its stages); ValueError if the
    backbone does not name its parts."""
    parts = getattr(model.backbone, "parts", None)
    if parts is None:
        raise ValueError(f"the {type(model.backbone).__name__} backbone has no freezable parts "
                         f"(backbones with them define parts())")
    return list(parts())


def freeze_leading_parts(model: nn.Module, count: int) -> list[nn.Module]:
    """Freeze the first ``count`` backbone parts (requires_grad off, eval mode); returns them, for
    ``set_train_mode``. ``count`` 0 freezes nothing and works with every backbone."""
    if count == 0:
        return []
    parts = backbone_parts(model)
    if not 0 < count <= len(parts):
        raise ValueError(f"freeze_at must lie in 0..{len(parts)} for the {type(model.backbone).__name__} "
                         f"backbone, got {count}")
    frozen = parts[:count]
    for part in frozen:
        part.requires_grad_(False)
        part.eval()
    return frozen


def set_train_mode(model: nn.Module, frozen: list[nn.Module]) -> nn.Module:
    """``model.train()``, with the ``frozen`` parts back in eval mode (their BatchNorm statistics fixed)."""
    model.train()
    for part in frozen:
        part.eval()
    return model
