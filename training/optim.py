"""Optimiser parameter groups with the reference learning-rate and decay multipliers (reference 1.6)."""
from __future__ import annotations

import torch
from torch import nn

from core.model import SSH
from training.config import TrainConfig


def parameter_groups(model: SSH, batch_norm: bool) -> list[dict]:
    """Groups with an ``lr_mult`` and their weight-decay multiplier applied.

    Without BatchNorm (ssh_vgg16): weights lr×1 decay×1; backbone and fusion biases lr×2 decay×1;
    detection-module biases lr×2 decay×0; frozen parameters (conv1–2, bilinear deconv) excluded.
    With BatchNorm (from scratch): conv weights decay×1, biases and BatchNorm parameters decay×0, lr×1.
    """
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_bias = name.endswith(".bias")
        if batch_norm:
            key = (1.0, 0.0) if (is_bias or param.dim() == 1) else (1.0, 1.0)
        elif is_bias:
            key = (2.0, 0.0) if name.startswith("heads.") else (2.0, 1.0)
        else:
            key = (1.0, 1.0)
        groups.setdefault(key, []).append(param)
    return [{"params": params, "lr_mult": lr_mult, "decay_mult": decay_mult}
            for (lr_mult, decay_mult), params in groups.items()]


# ``TrainConfig.optimizer`` -> ``(parameter groups, config) -> optimiser``.
OPTIMIZERS = {
    "sgd": lambda groups, config: torch.optim.SGD(groups, lr=config.scaled_lr, momentum=config.momentum),
    "adamw": lambda groups, config: torch.optim.AdamW(groups, lr=config.scaled_lr),
}


def build_optimizer(model: SSH, config: TrainConfig, batch_norm: bool) -> torch.optim.Optimizer:
    groups = parameter_groups(model, batch_norm)
    for g in groups:
        g["weight_decay"] = config.weight_decay * g["decay_mult"]
        g["lr"] = config.scaled_lr * g["lr_mult"]
    return OPTIMIZERS[config.optimizer](groups, config)


def set_learning_rate(optimizer: torch.optim.Optimizer, base_lr: float) -> None:
    for g in optimizer.param_groups:
        g["lr"] = base_lr * g["lr_mult"]
