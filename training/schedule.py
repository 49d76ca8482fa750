"""Learning rate as a pure function of the step, so a resumed run can extend its schedule."""
from __future__ import annotations

import math

from training.config import TrainConfig


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of the scaled base LR at ``step`` (0-based): linear warm-up from 1/10, then the
    paper's steps (×gamma at each of ``lr_steps``) or cosine decay to 1/100 at ``config.steps``."""
    if config.warmup_steps and step < config.warmup_steps:
        return 0.1 + 0.9 * step / config.warmup_steps
    if config.schedule == "step":
        return config.lr_gamma ** sum(step >= s for s in config.lr_steps)
    if config.schedule == "cosine":
        span = max(1, config.steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {config.schedule!r}; choose 'step' or 'cosine'")
