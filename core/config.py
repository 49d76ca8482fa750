"""Typed, frozen descriptions of an SSH model.

A checkpoint stores ``ModelConfig.to_dict()``; ``ModelConfig.from_dict`` rebuilds it, so every
checkpoint is self-describing. Only builder functions read these objects; the ``nn.Module`` classes
take plain arguments.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real

# Bounds that every real SSH configuration is far inside of; beyond them a (hostile or damaged)
# checkpoint's config would allocate gigabytes before its weights are even compared.
MAX_CHANNELS = 1024
MAX_ANCHOR_SIZE = 4096
MAX_ANCHORS_PER_LEVEL = 16
MAX_ALLOWED_BORDER = 100_000
SSH_STRIDES = (8, 16, 32)


def _integer(value, what: str, low: int, high: int) -> int:
    """``value`` as an int within [low, high]; ``ValueError`` naming ``what`` otherwise (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{what} must be an integer, got {value!r:.40}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be within [{low}, {high}], got {value}")
    return int(value)


def _real(value, what: str) -> float:
    """``value`` as a finite float; ``ValueError`` naming ``what`` otherwise (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r:.40}")
    return float(value)


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, got {value!r:.40}")
    return value


@dataclass(frozen=True)
class LevelSpec:
    """One SSH detection module (M1, M2 or M3).

    Attributes:
        name: key of the module in the model ("m1", "m2", "m3").
        stride: input pixels per feature cell (8, 16, 32).
        anchor_sizes: anchor side lengths in input pixels, ascending (SSH: 16·scales).
        channels: X of the paper: the plain 3×3 branch has X channels, each context branch X/2,
            so the classifier sees 2X channels.
        allowed_border: training-only border rule of the reference code: an anchor is used for
            training only if it lies no more than this many pixels outside the image.
    """

    name: str
    stride: int
    anchor_sizes: tuple[int, ...]
    channels: int
    allowed_border: int

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"level name must be an identifier like 'm1', got {self.name!r:.40}")
        _integer(self.stride, f"level {self.name}: stride", 1, 1024)
        if not isinstance(self.anchor_sizes, tuple) or not 1 <= len(self.anchor_sizes) <= MAX_ANCHORS_PER_LEVEL:
            raise ValueError(f"level {self.name}: anchor_sizes must hold 1 to {MAX_ANCHORS_PER_LEVEL} sizes")
        for size in self.anchor_sizes:
            _integer(size, f"level {self.name}: anchor size", 1, MAX_ANCHOR_SIZE)
        # the context module splits X into two X/2 branches: X must be even
        _integer(self.channels, f"level {self.name}: channels", 2, MAX_CHANNELS)
        if self.channels % 2:
            raise ValueError(f"level {self.name}: channels must be even, got {self.channels}")
        _integer(self.allowed_border, f"level {self.name}: allowed_border", 0, MAX_ALLOWED_BORDER)

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_sizes)


@dataclass(frozen=True)
class Normalization:
    """How uint8 RGB pixels become network input: ``(pixel[channel_order] * scale - mean) / std``.

    ``channel_order`` is "RGB" or "BGR"; ``mean``/``std`` are given in that order.
    """

    channel_order: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self):
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r:.40}")
        if _real(self.scale, "normalization scale") <= 0:
            raise ValueError(f"normalization scale must be positive, got {self.scale}")
        for name, values in (("mean", self.mean), ("std", self.std)):
            if not isinstance(values, tuple) or len(values) != 3:
                raise ValueError(f"normalization {name} must hold three numbers, got {values!r:.60}")
            for v in values:
                _real(v, f"normalization {name}")
        if min(self.std) <= 0:
            raise ValueError(f"normalization std must be positive, got {self.std}")


# torchvision's ImageNet weights expect RGB in [0, 1] normalised by ImageNet mean/std.
TORCHVISION_IMAGENET = Normalization()
# The light model is trained from scratch; a plain [-1, 1] range is enough.
SYMMETRIC_UNIT = Normalization("RGB", 1.0 / 255.0, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild an SSH network.

    Attributes:
        backbone: a name from ``core.backbones.BACKBONES``.
        levels: the detection modules, ordered M1, M2, M3 (strides 8, 16, 32).
        fusion_channels: channels of the M1 conv4/conv5 fusion (128 in the paper).
        batch_norm: BatchNorm after every new conv (light model; folded for inference).
        separable: depthwise-separable 3×3 convs in fusion and detection modules (light model).
        normalization: input convention the backbone weights expect.
    """

    backbone: str
    levels: tuple[LevelSpec, ...]
    fusion_channels: int = 128
    batch_norm: bool = False
    separable: bool = False
    normalization: Normalization = field(default_factory=Normalization)

    def __post_init__(self):
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ValueError(f"backbone must be a name, got {self.backbone!r:.40}")
        if not isinstance(self.levels, tuple) or not all(isinstance(lv, LevelSpec) for lv in self.levels):
            raise ValueError("levels must be a tuple of LevelSpec")
        strides = tuple(lv.stride for lv in self.levels)
        if strides != SSH_STRIDES:
            raise ValueError(f"SSH has three levels at strides {SSH_STRIDES}, got {strides}")
        if len({lv.name for lv in self.levels}) != len(self.levels):
            raise ValueError("level names must differ")
        _integer(self.fusion_channels, "fusion_channels", 1, MAX_CHANNELS)
        _flag(self.batch_norm, "batch_norm")
        _flag(self.separable, "separable")
        if not isinstance(self.normalization, Normalization):
            raise ValueError("normalization must be a Normalization")

    def to_dict(self) -> dict:
        """Plain data (str/int/float/bool/list/dict) that ``torch.load(weights_only=True)`` accepts."""
        data = asdict(self)
        data["levels"] = [dict(level, anchor_sizes=list(level["anchor_sizes"])) for level in data["levels"]]
        norm = data["normalization"]
        data["normalization"] = dict(norm, mean=list(norm["mean"]), std=list(norm["std"]))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Inverse of ``to_dict``; raises ``ValueError`` on missing keys, wrong types, unknown backbones
        and values outside what an SSH network can be (negative or huge channel counts, odd strides...)."""
        from core.backbones import BACKBONES  # lazily: the backbones import this module

        def table(value, what: str) -> dict:
            if not isinstance(value, dict):
                raise ValueError(f"{what} must be a mapping, got {type(value).__name__}")
            return value

        def sequence(value, what: str) -> list:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{what} must be a list, got {type(value).__name__}")
            return list(value)

        try:
            data = table(data, "model config")
            levels = tuple(
                LevelSpec(
                    name=lv["name"],
                    stride=lv["stride"],
                    anchor_sizes=tuple(sequence(lv["anchor_sizes"], "anchor_sizes")),
                    channels=lv["channels"],
                    allowed_border=lv["allowed_border"],
                )
                for lv in (table(lv, "a level") for lv in sequence(data["levels"], "levels"))
            )
            norm = table(data["normalization"], "normalization")
            normalization = Normalization(
                channel_order=norm["channel_order"],
                scale=norm["scale"],
                mean=tuple(sequence(norm["mean"], "normalization mean")),
                std=tuple(sequence(norm["std"], "normalization std")),
            )
            backbone = data["backbone"]
            if backbone not in BACKBONES if isinstance(backbone, str) else True:
                raise ValueError(f"unknown backbone {backbone!r:.40}; available: {sorted(BACKBONES)}")
            return cls(
                backbone=backbone,
                levels=levels,
                fusion_channels=data["fusion_channels"],
                batch_norm=data["batch_norm"],
                separable=data["separable"],
                normalization=normalization,
            )
        except KeyError as exc:
            raise ValueError(f"malformed model config: missing {exc}") from None


def ssh_levels(m1_channels: int = 128, m23_channels: int = 256) -> tuple[LevelSpec, ...]:
    """The paper's three modules: anchors 16·{1,2}, 16·{4,8}, 16·{16,32}; border rule 0/0/512."""
    return (
        LevelSpec("m1", 8, (16, 32), m1_channels, 0),
        LevelSpec("m2", 16, (64, 128), m23_channels, 0),
        LevelSpec("m3", 32, (256, 512), m23_channels, 512),
    )


def ssh_vgg16_config() -> ModelConfig:
    """The network of the paper (19,768,420 parameters), torchvision ImageNet input convention."""
    return ModelConfig(backbone="vgg16", levels=ssh_levels(), fusion_channels=128,
                       normalization=TORCHVISION_IMAGENET)


def ssh_lite_config() -> ModelConfig:
    """The real-time CPU variant: same M1/M2/M3 + context design on a small BatchNorm backbone."""
    return ModelConfig(backbone="lite", levels=ssh_levels(m1_channels=32, m23_channels=64),
                       fusion_channels=32, batch_norm=True, separable=True, normalization=SYMMETRIC_UNIT)


MODEL_CONFIGS = {"ssh_vgg16": ssh_vgg16_config, "ssh_lite": ssh_lite_config}


def model_config(name: str) -> ModelConfig:
    """Look up a named model configuration ("ssh_vgg16" or "ssh_lite")."""
    try:
        return MODEL_CONFIGS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODEL_CONFIGS)}") from None
