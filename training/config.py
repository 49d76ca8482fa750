"""Training configuration (frozen, validated) and the built-in recipe of each model."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class TrainConfig:
    """All knobs of a training run. ``batch_size`` is images per optimiser step over all processes;
    ``lr`` is the rate for ``lr_reference_batch`` images and is scaled linearly to ``batch_size``."""

    model: str = "ssh_vgg16"
    steps: int = 21000
    batch_size: int = 8
    accumulation: int = 1  # forward/backward passes per step on each process
    optimizer: str = "sgd"  # "sgd" (paper) or "adamw"
    lr: float = 0.004
    lr_reference_batch: int = 8
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "step"  # "step" (paper: ×gamma at lr_steps) or "cosine"
    lr_steps: tuple[int, ...] = (18000,)
    lr_gamma: float = 0.1
    warmup_steps: int = 0
    augment: str = "paper"  # "paper" (flip + fixed scale) or "crop" (random square crops + jitter)
    short_side: int = 1200
    max_side: int = 1600
    crop_size: int = 640
    crop_scales: tuple[float, ...] = (0.3, 0.45, 0.6, 0.8, 1.0)
    border_bands: float = 0.0  # crop recipe: share of crops shrunk inside random edge bands
    mosaic: float = 0.0  # crop recipe: share of training images that are 2×2 mosaics of half-size crops
    occlusion: float = 0.0  # crop recipe: chance that each face gets an occluder over its lower part or side
    degrade: float = 0.0  # crop recipe: share of crops blurred, darkened or JPEG-compressed
    freeze_at: int = 0  # the first N backbone parts (ssh_lite: stem, then stages) keep their weights and statistics
    ohem: bool = True
    box_normaliser: str = "sampled"  # box-loss divisor: "sampled" anchors (reference code) or "positives" (paper)
    allowed_border: int | None = None  # anchors further outside the image are ignored; None: each module's own
    amp: bool = True  # autocast on CUDA only
    seed: int = 3
    workers: int = 2
    log_every: int = 20
    checkpoint_every: int = 1000
    eval_every: int = 0  # 0 = only at the end (when a validation set is given)
    eval_max_images: int = 0  # 0 = all validation images

    def __post_init__(self):
        """Every name must be a key of its registry and every number in its range: a config that
        reaches a trainer can run. Raises ``ValueError`` naming the field."""
        from core.config import MODEL_CONFIGS
        from training.augment import AUGMENTATIONS
        from training.loss import BOX_NORMALISERS
        from training.optim import OPTIMIZERS
        from training.schedule import SCHEDULES

        for name, registry in (("model", MODEL_CONFIGS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                               ("augment", AUGMENTATIONS), ("box_normaliser", BOX_NORMALISERS)):
            if getattr(self, name) not in registry:
                raise ValueError(f"{name} must be one of {', '.join(registry)}, got {getattr(self, name)!r}")
        for name in ("steps", "batch_size", "accumulation", "lr_reference_batch", "log_every", "checkpoint_every",
                     "crop_size", "short_side", "max_side"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {getattr(self, name)!r}")
        for name in ("warmup_steps", "workers", "eval_every", "eval_max_images", "seed", "freeze_at"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, got {getattr(self, name)!r}")
        for name in ("lr", "momentum", "weight_decay", "lr_gamma"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number of at least 0, got {getattr(self, name)!r}")
        for name in ("border_bands", "mosaic", "occlusion", "degrade"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if not self.crop_scales or not all(0 < s <= 2 for s in self.crop_scales):
            raise ValueError(f"crop_scales must lie in (0, 2], got {self.crop_scales!r}")
        if self.allowed_border is not None and self.allowed_border < 0:
            raise ValueError(f"allowed_border must be 0 or more, got {self.allowed_border!r}")
        if self.mosaic and self.augment != "crop":
            raise ValueError("mosaic applies to the crop augmentation only (--augment crop)")

    @property
    def scaled_lr(self) -> float:
        return self.lr * self.batch_size / self.lr_reference_batch

    def to_dict(self) -> dict:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        kwargs = {}
        for f in fields(cls):
            if f.name in data:
                value = data[f.name]
                kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


def paper_recipe() -> TrainConfig:
    """The reference schedule for ssh_vgg16 (solver_ssh.prototxt): SGD 0.9, wd 5e-4, lr 0.004 for 8
    images per step, ×0.1 at 18k of 21k steps, flip + 1200/1600 resize, OHEM."""
    return TrainConfig()


def lite_recipe() -> TrainConfig:
    """From-scratch recipe for ssh_lite on little data: AdamW with warm-up and cosine decay, random
    square crops at several scales resized to 640², flips and photometric jitter. Every module trains
    the anchors that cross the crop's edge (``allowed_border=512``): on crops a large share of the M2
    anchors do, and left untrained (the reference's 0) they fire on frame edges at test time."""
    return TrainConfig(model="ssh_lite", steps=30000, batch_size=16, optimizer="adamw", lr=2e-3,
                       lr_reference_batch=16, weight_decay=5e-4, schedule="cosine", lr_steps=(),
                       warmup_steps=500, augment="crop", crop_size=640, checkpoint_every=500, allowed_border=512)


@dataclass(frozen=True)
class Recipe:
    """How a named model (a key of ``core.config.MODEL_CONFIGS``) is trained, and the detection size
    its training suits at test time (None: the frame's own size)."""

    config: TrainConfig
    test_short_side: int | None
    test_max_side: int | None


# The built-in recipe of every model. ssh_vgg16 is tested at the paper's scale; ssh_lite, trained on
# crops that show faces at 0.7-2.3x their size in the image, at the frame's own size.
RECIPES = {
    "ssh_vgg16": Recipe(paper_recipe(), 1200, 1600),
    "ssh_lite": Recipe(lite_recipe(), None, None),
}


def recipe_for(model: str, **overrides) -> TrainConfig:
    """The built-in recipe of a model with ``overrides`` (None values ignored) applied."""
    if model not in RECIPES:
        raise ValueError(f"no training recipe for model {model!r}; choose one of {', '.join(RECIPES)}")
    return replace(RECIPES[model].config, **{k: v for k, v in overrides.items() if v is not None})
