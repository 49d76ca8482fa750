"""Learning rate as a pure function of the step, so a resumed run can extend its schedule."""
from __future__ import annotations

import math

from training.config import TrainConfig


def _steps(step: int, config: TrainConfig) -> float:
    """The paper's: ×gamma at each of ``lr_steps``."""
    return config.lr_gamma ** sum(step >= s for s in config.lr_steps)


def _cosine(step: int, config: TrainConfig) -> float:
    """Cosine decay from 1 after the warm-up to 1/100 at ``config.steps``."""
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


# ``TrainConfig.schedule`` -> the LR multiplier after the warm-up, ``(step, config) -> factor``.
SCHEDULES = {"step": _steps, "cosine": _cosine}


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of the scaled base LR at ``step`` (0-based): linear warm-up from 1/10, then
    ``SCHEDULES[config.schedule]``."""
    if config.warmup_steps and step < config.warmup_steps:
        return 0.1 + 0.9 * step / config.warmup_steps
    return SCHEDULES[config.schedule](step, config)
