"""``Detector``: batched SSH inference on CPU, CUDA or MPS.

    detector = Detector.from_checkpoint("model.pt")          # device="auto"
    [dets] = detector.detect([rgb_uint8_frame])               # dets.boxes (N, 4) xyxy, dets.scores (N,)

Single-pass mode (the paper's defaults: short side 1200, long side ≤ 1600, top-1000 per module,
score > 0.05, one NMS at 0.3) or the 4-level pyramid of the reference code (``pyramid=True``).
BatchNorm and the input normalisation are folded into the convolutions first. On a GPU the network
runs under bf16/fp16 autocast in channels-last; on the CPU ONNX Runtime runs it when installed
(``core.onnx_backend``; its network ran 1.2–2.2× as fast on 2 cores), else a traced, frozen torch
graph in channels-last. Post-processing stays on the device.
"""
from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass, replace
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.checkpoint import Checkpoint, load_checkpoint
from core.config import ModelConfig
from core.errors import SettingsError
from core.fold import fold_batchnorm, fold_input_normalization
from core.model import FlatOutputs, pair_outputs
from core.onnx_backend import OnnxRuntimeNetwork, onnxruntime_available
from core.postprocess import candidates, select_detections
from core.preprocess import cap_scale, prepare_batch, resize_scale

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnxruntime")
PYRAMID_BASE = (800, 1200)  # reference: base scale = short side 800, long side ≤ 1200
PYRAMID_SHORT_SIDES = (500, 800, 1200, 1600)  # level scales are (S / 800) · base, no further cap


MAX_INPUT_SIDE = 16384  # network pixels; a checkpoint asking for more would allocate without bound
MAX_TOP_K = 1_000_000


@dataclass(frozen=True)
class InferenceConfig:
    """Test-time settings. ``short_side=None`` keeps the native resolution (capped by ``max_side``).

    ``max_pixels`` caps the network input's area in every mode, native size included: a larger frame
    is detected scaled down (aspect kept) to at most that many pixels, so a 20000×20000 frame is
    detected at 4096×4096 instead of asking for gigabytes (None: no cap).
    """

    short_side: int | None = 1200
    max_side: int | None = 1600
    max_pixels: int | None = 4096 * 4096
    pyramid: bool = False
    top_k_per_level: int = 1000
    score_threshold: float = 0.05
    nms_threshold: float = 0.3
    vote_threshold: float | None = None  # box voting IoU (None: plain NMS, as the reference)
    # Edge-replicated rows below / columns right of each resized frame, in network pixels; detections
    # centred there are dropped. A model may fire on, or miss faces at, a frame border it has learned
    # oddly (one trained with untrained edge anchors fires at the bottom edge); this moves the border
    # away. 0: the reference, and the embedded model.
    pad_bottom: int = 0
    pad_right: int = 0

    def __post_init__(self):
        """``ValueError`` naming the setting when a value is of the wrong type or out of range (a
        checkpoint's metadata is user input: ``core.checkpoint`` turns this into a ``CheckpointError``)."""
        for name in ("short_side", "max_side"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, Integral)
                                      or not 1 <= value <= MAX_INPUT_SIDE):
                raise ValueError(f"{name} must be None or an integer within [1, {MAX_INPUT_SIDE}], got {value!r:.40}")
        if not isinstance(self.pyramid, bool):
            raise ValueError(f"pyramid must be true or false, got {self.pyramid!r:.40}")
        for name, low, high in (("top_k_per_level", 1, MAX_TOP_K), ("pad_bottom", 0, MAX_INPUT_SIDE),
                                ("pad_right", 0, MAX_INPUT_SIDE)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer within [{low}, {high}], got {value!r:.40}")
        for name, low_open in (("score_threshold", False), ("nms_threshold", True), ("vote_threshold", True)):
            value = getattr(self, name)
            if value is None and name == "vote_threshold":
                continue
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
                    or not (0 < value <= 1 if low_open else 0 <= value <= 1):
                interval = "(0, 1]" if low_open else "[0, 1]"
                raise ValueError(f"{name} must be a number within {interval}, got {value!r:.40}")

    @classmethod
    def from_dict(cls, data: dict) -> "InferenceConfig":
        """The settings in ``data`` (unknown keys ignored); ``ValueError`` on a bad type or value."""
        if not isinstance(data, dict):
            raise ValueError(f"inference settings must be a mapping, got {type(data).__name__}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class Detections:
    """Faces of one frame: ``boxes`` float32 (N, 4) xyxy in original pixels, ``scores`` float32 (N,),
    sorted by score, descending. N may be 0 (arrays of shape (0, 4) and (0,))."""

    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def above(self, threshold: float) -> "Detections":
        keep = self.scores >= threshold
        return Detections(self.boxes[keep], self.scores[keep])


def _mps_available() -> bool:
    """Apple-silicon GPU; ``torch.backends.mps`` is missing from some builds, hence the getattr."""
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def available_devices() -> list[str]:
    """The compute devices this machine offers, as ``--device`` accepts them: "cpu", then "cuda:0",
    "cuda:1", ... for each visible GPU, then "mps". Written once here so every front end lists the
    same devices that ``resolve_device`` accepts."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        devices.append("mps")
    return devices


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """"auto" picks CUDA, then MPS, then CPU; an explicit device that is absent raises ``ValueError``."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except RuntimeError:  # torch's message for a malformed name lists its many device types
        raise SettingsError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(f"device {device} requested but CUDA is not available (torch {torch.__version__})")
    if device.type == "mps" and not _mps_available():
        raise SettingsError("device mps requested but MPS is not available")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on GPUs that support it, else fp16 on CUDA; None (fp32) elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def choose_backend(requested: str, device: torch.device, optimize: bool = True) -> str:
    """The network runner: "torch", or "onnxruntime" (CPU only). "auto" takes ONNX Runtime on the CPU
    when it is installed (faster there), torch elsewhere; an unusable explicit choice
    raises ``ValueError``."""
    if requested not in BACKENDS:
        raise SettingsError(f"unknown backend {requested!r}: expected one of {', '.join(BACKENDS)}")
    if requested == "onnxruntime":
        if device.type != "cpu":
            raise SettingsError(f"the onnxruntime backend runs on the CPU, not on {device}: use --backend torch")
        if not onnxruntime_available():
            raise SettingsError("backend onnxruntime requested but it is not installed: pip install onnxruntime onnx")
        return "onnxruntime"
    if requested == "auto" and optimize and device.type == "cpu" and onnxruntime_available():
        return "onnxruntime"
    return "torch"


class Detector:
    """Runs an SSH model on batches of RGB uint8 frames of any sizes."""

    def __init__(self, model: nn.Module, config: ModelConfig, *, device: str | torch.device = "auto",
                 inference: InferenceConfig | None = None, optimize: bool = True, backend: str = "auto"):
        self.device = resolve_device(device)
        self.config = config
        self.inference = inference or InferenceConfig()
        self.amp_dtype = autocast_dtype(self.device) if optimize else None
        model, offset = fold_input_normalization(fold_batchnorm(model), config.normalization)
        model = model.to(self.device)
        self.pixel_offset = offset.to(self.device)
        self.backend = choose_backend(backend, self.device, optimize)
        self._onnx: OnnxRuntimeNetwork | None = None
        if self.backend == "onnxruntime":
            self._onnx = self._onnx_network(model, explicit=backend == "onnxruntime")
            if self._onnx is None:
                self.backend = "torch"
        self.channels_last = optimize and self.backend == "torch" and self.device.type in ("cpu", "cuda")
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self._trace_cpu = optimize and self.backend == "torch" and self.device.type == "cpu"
        self._traced: torch.jit.ScriptModule | None = None

    @property
    def runs_on(self) -> str:
        """Device and network backend, for people: "cpu (onnxruntime)", "cuda:0 (torch)"."""
        return f"{self.device} ({self.backend})"

    @staticmethod
    def _onnx_network(model: nn.Module, explicit: bool) -> OnnxRuntimeNetwork | None:
        try:
            return OnnxRuntimeNetwork(model)
        except Exception as exc:
            if explicit:
                raise
            # Chosen automatically: an exporter/runtime version mismatch falls back to torch, loudly.
            log.warning("ONNX Runtime cannot run this model (%s: %s); using torch", type(exc).__name__, exc)
            return None

    @classmethod
    def from_checkpoint(cls, path: str | Path | Checkpoint, *, device: str | torch.device = "auto",
                        inference: InferenceConfig | None = None, backend: str = "auto",
                        **overrides) -> "Detector":
        """Build from a checkpoint; its metadata["inference"] gives the default sizes, ``overrides``
        (e.g. ``score_threshold=0.5``, ``short_side=None`` for the native size) replace single fields."""
        ckpt = path if isinstance(path, Checkpoint) else load_checkpoint(path)
        if inference is None:
            inference = InferenceConfig.from_dict(ckpt.metadata.get("inference", {}))
        try:
            inference = replace(inference, **overrides)
        except ValueError as exc:  # InferenceConfig's own range checks
            raise SettingsError(f"inference settings: {exc}") from None
        return cls(ckpt.build_model(), ckpt.config, device=device, inference=inference, backend=backend)

    # -- network -------------------------------------------------------------------------------
    def _forward(self, images: torch.Tensor):
        if self._onnx is not None:
            return self._onnx(images)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if self._trace_cpu:
            flat = self._traced_model(images)(images)
        else:
            amp = (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype
                   else contextlib.nullcontext())
            with amp:
                return self.model(images)
        return pair_outputs(flat)

    def _traced_model(self, images: torch.Tensor):
        # Traced once: the fusion crop reads tensor sizes, which tracing records as dynamic ops, so the
        # graph serves every input shape (a test checks it against eager mode on other shapes).
        if self._traced is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._traced = torch.jit.freeze(torch.jit.trace(FlatOutputs(self.model).eval(), images))
        return self._traced

    # -- public API ------------------------------------------------------------------------------
    @torch.inference_mode()
    def detect(self, frames) -> list[Detections]:
        """Detect faces in a list of RGB uint8 (H, W, 3) frames (numpy or torch, any sizes)."""
        frames = list(frames)
        if not frames:
            return []
        cfg = self.inference
        if cfg.pyramid:
            boxes, scores = self._pyramid_candidates(frames)
        else:
            boxes, scores = self._candidates(frames, lambda h, w: resize_scale(h, w, cfg.short_side, cfg.max_side,
                                                                               cfg.max_pixels))
        results = select_detections(boxes, scores, cfg.score_threshold, cfg.nms_threshold, cfg.vote_threshold)
        return [Detections(b.cpu().numpy().astype(np.float32), s.cpu().numpy().astype(np.float32))
                for b, s in results]

    def _candidates(self, frames, scale_for, skip_levels: tuple[str, ...] = ()):
        """(N, M, 4) boxes and (N, M) scores before threshold/NMS, from one forward pass."""
        cfg = self.inference
        batch = prepare_batch(frames, self.device, self.pixel_offset, scale_for,
                              pad_bottom=cfg.pad_bottom, pad_right=cfg.pad_right, channels_last=self.channels_last)
        outputs = self._forward(batch.images)
        padded = cfg.pad_bottom > 0 or cfg.pad_right > 0
        kept = [(out, level) for out, level in zip(outputs, self.config.levels) if level.name not in skip_levels]
        return candidates([out for out, _ in kept], [level for _, level in kept], cfg.top_k_per_level, batch.sizes,
                          batch.scales, cfg.score_threshold, drop_outside=padded)

    def _pyramid_candidates(self, frames):
        """The reference pyramid: four scales around a 800/1200 base; M3 of the largest level dropped."""
        boxes, scores = [], []
        largest = max(PYRAMID_SHORT_SIDES)
        for short in PYRAMID_SHORT_SIDES:
            def scale_for(h, w, short=short):
                return cap_scale(short / PYRAMID_BASE[0] * resize_scale(h, w, *PYRAMID_BASE), h, w,
                                 self.inference.max_pixels)
            skip = (self.config.levels[-1].name,) if short == largest else ()
            b, s = self._candidates(frames, scale_for, skip)
            boxes.append(b)
            scores.append(s)
        return torch.cat(boxes, dim=1), torch.cat(scores, dim=1)
