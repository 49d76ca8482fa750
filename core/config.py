"""Typed, frozen descriptions of an SSH model.

A checkpoint stores ``ModelConfig.to_dict()``; ``ModelConfig.from_dict`` rebuilds it, so every
checkpoint is self-describing. Only builder functions read these objects; the ``nn.Module`` classes
take plain arguments.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")


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

    def to_dict(self) -> dict:
        """Plain data (str/int/float/bool/list/dict) that ``torch.load(weights_only=True)`` accepts."""
        data = asdict(self)
        data["levels"] = [dict(level, anchor_sizes=list(level["anchor_sizes"])) for level in data["levels"]]
        norm = data["normalization"]
        data["normalization"] = dict(norm, mean=list(norm["mean"]), std=list(norm["std"]))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Inverse of ``to_dict``; raises ``ValueError`` on missing or unknown keys."""
        try:
            levels = tuple(
                LevelSpec(
                    name=str(lv["name"]),
                    stride=int(lv["stride"]),
                    anchor_sizes=tuple(int(s) for s in lv["anchor_sizes"]),
                    channels=int(lv["channels"]),
                    allowed_border=int(lv["allowed_border"]),
                )
                for lv in data["levels"]
            )
            norm = data["normalization"]
            normalization = Normalization(
                channel_order=str(norm["channel_order"]),
                scale=float(norm["scale"]),
                mean=tuple(float(v) for v in norm["mean"]),
                std=tuple(float(v) for v in norm["std"]),
            )
            return cls(
                backbone=str(data["backbone"]),
                levels=levels,
                fusion_channels=int(data["fusion_channels"]),
                batch_norm=bool(data["batch_norm"]),
                separable=bool(data["separable"]),
                normalization=normalization,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed model config: {exc!r}") from exc


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
