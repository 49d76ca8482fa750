"""Export a checkpoint's network to ONNX or TorchScript, so the detector runs where Python does not.

The exported graph takes RGB pixels and does the network part of ``Detector`` exactly: BatchNorm and
the input normalisation are folded into the convolutions (``core.fold``, as for the in-memory ONNX
Runtime path), and the remaining per-channel offset is subtracted inside the graph.

Input ``images``: float32 (N, 3, H, W), RGB, NCHW, pixel values 0..255 (uint8 values as floats). Fixed
N = 1, H and W (``size``) or dynamic batch, height and width.

Outputs (``outputs="candidates"``, the default):
    ``boxes``  float32 (N, K, 4) xyxy in network-input pixels, "+1" convention (decoded as the reference:
               a zero delta on the anchor [0, 0, 15, 15] gives [0, 0, 16, 16]), not clipped.
    ``scores`` float32 (N, K) face probabilities; K = levels × top_k_per_level: for each detection
               module in order, its top-k anchors sorted descending (the reference's per-module top-k),
               padded with score -1 (box 0) where a module has fewer than k anchors.
    What stays outside the graph (a few lines; ``docs/export_example.py`` is a tested reference): clip
    to the frame (0..w-1, 0..h-1 in network pixels), divide by the resize factor, keep score >
    score_threshold, one NMS with "+1" areas, optionally box voting.
``outputs="raw"``: the network's own per-module maps, ``<m>_cls_logits`` (N, 2A, h, w) (channels [0, A)
background, [A, 2A) face) and ``<m>_bbox_deltas`` (N, 4A, h, w) (channel 4a + k: delta k of anchor a),
for runtimes without TopK/GatherElements; the metadata's anchors and box coding decode them.

The post-processing settings, anchors, input convention, model config and a summary of the checkpoint
are written into the file: ONNX ``metadata_props`` key ``"sshvideo"`` and TorchScript extra file
``"sshvideo.json"``, one JSON document either way (``read_metadata`` reads it back).

``half=True`` stores the network in float16 (0.31 instead of 0.54 MB for the embedded model). Inputs
and outputs stay float32 (casts inside the graph) and the decode runs in float32, so the same code reads
both. Float16 is meant for GPU runtimes; ONNX Runtime's CPU provider still runs it (it inserts casts
where it lacks float16 kernels; in one noisy run on the 2-core development machine as fast as float32),
with scores within about 1e-3 of float32.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.anchors import REFERENCE_CENTRE, cell_anchors, shifted_anchors
from core.atomic import atomic_path
from core.box_coding import LOG_SCALE_CLAMP, decode
from core.checkpoint import Checkpoint
from core.config import LevelSpec
from core.fold import fold_batchnorm, fold_input_normalization
from core.inference import InferenceConfig
from core.model import flatten_deltas
from core.onnx_backend import OPSET
from core.postprocess import face_probabilities

EXPORT_FORMAT = "sshvideo-ssh-export"
EXPORT_VERSION = 1
METADATA_KEY = "sshvideo"  # ONNX metadata_props key
EXTRA_FILE = "sshvideo.json"  # TorchScript _extra_files name
INPUT_NAME = "images"
OUTPUT_KINDS = ("candidates", "raw")
OPSETS = range(11, 21)  # 11 and 20 (the last of torch's TorchScript-based exporter) tried; 13, 17 tested
EXAMPLE_SIZE = (96, 128)  # tracing shape of dynamic exports: any works, the axes stay dynamic
# Checkpoint metadata copied into the export (training recipes and histories are left out).
SUMMARY_KEYS = ("trained_on", "steps", "images_seen", "wall_seconds", "metrics", "released_from")


@dataclass(frozen=True)
class ExportSettings:
    """What to export.

    Attributes:
        size: fixed network input (height, width) in pixels, batch 1; None: dynamic batch, height, width.
        half: float16 weights and graph (inputs and outputs stay float32).
        outputs: "candidates" (decoded top-k boxes and scores) or "raw" (per-module maps).
        opset: ONNX opset (ignored for TorchScript).
        inference: post-processing settings written into the metadata; ``top_k_per_level`` also sets K.
    """

    size: tuple[int, int] | None = None
    half: bool = False
    outputs: str = "candidates"
    opset: int = OPSET
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self):
        if self.outputs not in OUTPUT_KINDS:
            raise ValueError(f"outputs must be one of {', '.join(OUTPUT_KINDS)}, got {self.outputs!r}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"size must be (height, width) of positive pixels, got {self.size!r}")
        if self.opset not in OPSETS:
            raise ValueError(f"opset must lie in {OPSETS.start}..{OPSETS.stop - 1}, got {self.opset}")
        if self.inference.top_k_per_level < 1:
            raise ValueError(f"top_k_per_level must be at least 1, got {self.inference.top_k_per_level}")


# -- the graph ------------------------------------------------------------------------------------
class PixelNetwork(nn.Module):
    """The folded SSH network on RGB pixels: (N, 3, H, W) float32 0..255 -> flat (cls, deltas) per
    module, float32 (the network itself in float16 when ``half``)."""

    def __init__(self, folded: nn.Module, pixel_offset: torch.Tensor, half: bool):
        super().__init__()
        self.network = folded.half() if half else folded.float()
        self.register_buffer("pixel_offset", pixel_offset.view(1, 3, 1, 1).float())
        self.float16 = half  # not ``self.half``: that would hide nn.Module.half()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = images - self.pixel_offset
        if self.float16:
            x = x.half()
        return tuple(t.float() for pair in self.network(x) for t in pair)


class Candidates(nn.Module):
    """``PixelNetwork`` followed by the reference's per-module top-k and decode (see the module doc)."""

    def __init__(self, network: PixelNetwork, levels: tuple[LevelSpec, ...], top_k: int):
        super().__init__()
        self.network = network
        self.levels = levels
        self.top_k = top_k
        for level in levels:
            self.register_buffer(f"cell_anchors_{level.name}", cell_anchors(level.anchor_sizes))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = self.network(images)
        boxes, scores = [], []
        for i, level in enumerate(self.levels):
            level_boxes, level_scores = self._level(flat[2 * i], flat[2 * i + 1], level)
            boxes.append(level_boxes)
            scores.append(level_scores)
        return torch.cat(boxes, dim=1), torch.cat(scores, dim=1)

    def _anchors(self, cls_logits: torch.Tensor, level: LevelSpec) -> torch.Tensor:
        """``core.anchors.grid_anchors`` of a (N, 2A, h, w) map, built from tensors of the graph: cell
        indices are cumulative sums of ones shaped like the map (``arange`` would record the tracing
        device and ``to(device)`` a constant one), the cell anchors a buffer, so the traced module runs
        on any device and any map size."""
        ones_x, ones_y = torch.ones_like(cls_logits[0, 0, 0]), torch.ones_like(cls_logits[0, 0, :, 0])  # (w,), (h,)
        shift_x, shift_y = (ones_x.cumsum(0) - 1) * level.stride, (ones_y.cumsum(0) - 1) * level.stride
        return shifted_anchors(getattr(self, f"cell_anchors_{level.name}"), shift_x, shift_y)

    def _level(self, cls_logits: torch.Tensor, bbox_deltas: torch.Tensor, level: LevelSpec
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """One module: (N, 2A, h, w), (N, 4A, h, w) -> boxes (N, k, 4), scores (N, k), k = top_k.

        Every anchor is decoded, then the top-k kept; padding with k entries of score -1 makes k valid
        for any map size, so k is a constant of the graph."""
        anchors = self._anchors(cls_logits, level)  # (h·w·A, 4)
        probs = face_probabilities(cls_logits, level.num_anchors)  # (N, h·w·A)
        boxes = decode(anchors, flatten_deltas(bbox_deltas, level.num_anchors))  # (N, h·w·A, 4)
        probs = F.pad(probs, (0, self.top_k), value=-1.0)
        boxes = F.pad(boxes, (0, 0, 0, self.top_k))
        scores, index = probs.topk(self.top_k, dim=1)
        return boxes.gather(1, index.unsqueeze(-1).expand(-1, -1, 4)), scores


def build_export_module(checkpoint: Checkpoint, settings: ExportSettings) -> nn.Module:
    """The eval-mode CPU module that is traced: ``Candidates`` or ``PixelNetwork`` (raw outputs)."""
    config = checkpoint.config
    folded, offset = fold_input_normalization(fold_batchnorm(checkpoint.build_model()), config.normalization)
    network = PixelNetwork(folded.eval(), offset, settings.half)
    module = network if settings.outputs == "raw" else Candidates(network, config.levels,
                                                                   settings.inference.top_k_per_level)
    return module.eval().requires_grad_(False)


def output_names(checkpoint: Checkpoint, settings: ExportSettings) -> list[str]:
    if settings.outputs == "candidates":
        return ["boxes", "scores"]
    return [f"{level.name}_{part}" for level in checkpoint.config.levels for part in ("cls_logits", "bbox_deltas")]


def example_input(settings: ExportSettings) -> torch.Tensor:
    """Mid-grey (1, 3, H, W) pixels at the fixed size, or at ``EXAMPLE_SIZE`` for dynamic exports."""
    return torch.full((1, 3, *(settings.size or EXAMPLE_SIZE)), 128.0)


# -- metadata -------------------------------------------------------------------------------------
def checkpoint_summary(checkpoint: Checkpoint) -> dict:
    """Name, SHA-256 and the short metadata of the checkpoint (``SUMMARY_KEYS``)."""
    summary: dict = {"name": checkpoint.path.name if checkpoint.path else None}
    if checkpoint.path is not None and checkpoint.path.is_file():
        summary["sha256"] = hashlib.sha256(checkpoint.path.read_bytes()).hexdigest()
    model_name = (checkpoint.metadata.get("train_config") or {}).get("model")
    if model_name:
        summary["model"] = model_name
    summary.update({key: checkpoint.metadata[key] for key in SUMMARY_KEYS if key in checkpoint.metadata})
    return summary


def export_metadata(checkpoint: Checkpoint, settings: ExportSettings, fmt: str,
                    names: list[str], pixel_offset: list[float]) -> dict:
    """The JSON document stored in the exported file: everything needed to use its outputs."""
    config, inference = checkpoint.config, settings.inference
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_as": fmt,
        "input": {
            "name": INPUT_NAME, "layout": "NCHW", "dtype": "float32", "channel_order": "RGB",
            "value_range": [0, 255],
            "size": list(settings.size) if settings.size else None,
            "dynamic_axes": [] if settings.size else ["batch", "height", "width"],
            "normalization": "inside the graph (pixels in, as they are)",
            "mean_pixel": pixel_offset,
            "pad_value": pixel_offset,  # padding with these pixels is padding with zeros after normalisation
            "model_normalization": asdict(config.normalization),
        },
        "outputs": {"kind": settings.outputs, "names": names, "clipped": False,
                    "coordinates": "network-input pixels", "half": settings.half},
        "anchors": [{"level": lv.name, "stride": lv.stride, "sizes": list(lv.anchor_sizes),
                     "centre": REFERENCE_CENTRE, "index": "(y * w + x) * A + a"} for lv in config.levels],
        "box_coding": {
            "convention": "+1", "deltas": ["dx", "dy", "dw", "dh"],
            "decode": "w = x2 - x1 + 1 of the anchor; centre = anchor centre + d * w; size = exp(min(dw, "
                      "log_scale_clamp)) * w; box = centre -/+ size / 2 (no -1 on x2, y2)",
            "log_scale_clamp": LOG_SCALE_CLAMP,
            "area": "(x2 - x1 + 1) * (y2 - y1 + 1)",
        },
        "postprocess": {
            "top_k_per_level": inference.top_k_per_level,
            "score_threshold": inference.score_threshold,
            "nms_threshold": inference.nms_threshold,
            "vote_threshold": inference.vote_threshold,
            "short_side": inference.short_side,
            "max_side": inference.max_side,
            "pad_bottom": inference.pad_bottom,
            "pad_right": inference.pad_right,
            "order": "clip to the frame, divide by the resize factor, score > score_threshold, NMS ('+1' "
                     "IoU > nms_threshold suppressed), box voting (IoU >= vote_threshold, score-weighted "
                     "mean of the candidates kept by the threshold) when vote_threshold is set",
        },
        "model": config.to_dict(),
        "checkpoint": checkpoint_summary(checkpoint),
    }


def metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, sort_keys=True, default=str)


# -- writers --------------------------------------------------------------------------------------
def _exp2_symbolic(g, x):
    """ONNX has no exp2: 2^x = Exp(x · ln 2) (``core.box_coding`` decodes with exp2 for CPU speed)."""
    return g.op("Exp", g.op("Mul", x, g.op("Constant", value_t=torch.tensor(math.log(2.0)))))


@contextlib.contextmanager
def _exp2_as_exp(opset: int):
    """``aten::exp2`` exportable for the duration of one export (registered, then removed again)."""
    torch.onnx.register_custom_op_symbolic("aten::exp2", _exp2_symbolic, opset)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::exp2", opset)


def write_onnx(module: nn.Module, example: torch.Tensor, names: list[str], settings: ExportSettings,
               metadata: dict, path: Path) -> None:
    """torch's (TorchScript-based) ONNX exporter, then the metadata added with ``onnx``."""
    import onnx

    dynamic = None
    if settings.size is None:
        dynamic = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
        dynamic.update({name: {0: "batch"} for name in names})
    buffer = io.BytesIO()
    with warnings.catch_warnings(), _exp2_as_exp(settings.opset):
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=settings.opset,
                          input_names=[INPUT_NAME], output_names=names, dynamic_axes=dynamic)
    model = onnx.load_from_string(buffer.getvalue())
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, metadata_json(metadata)
    model.doc_string = "SSH face detector exported by sshvideo; metadata key 'sshvideo' describes inputs/outputs"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_torchscript(module: nn.Module, example: torch.Tensor, names: list[str], settings: ExportSettings,
                      metadata: dict, path: Path) -> None:
    """A traced module (sizes are traced as shape operations, so any input size works)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape reads; torch.jit's deprecation notice
        traced = torch.jit.trace(module, example, check_trace=False)  # the tests compare outputs
        torch.jit.save(traced, str(path), _extra_files={EXTRA_FILE: metadata_json(metadata)})


Writer = Callable[[nn.Module, torch.Tensor, list, ExportSettings, dict, Path], None]
EXPORTERS: dict[str, Writer] = {"onnx": write_onnx, "torchscript": write_torchscript}
SUFFIXES = {"onnx": ".onnx", "torchscript": ".ts.pt"}


def default_output(weights: str | Path, fmt: str) -> Path:
    """``<weights stem><suffix of fmt>`` in the current folder: ssh_lite_wider.pt -> ssh_lite_wider.onnx."""
    return Path(Path(weights).stem + SUFFIXES[fmt])


@torch.no_grad()
def export_checkpoint(checkpoint: Checkpoint, out: str | Path, fmt: str, settings: ExportSettings) -> dict:
    """Write ``checkpoint``'s network to ``out`` (atomically) in format ``fmt`` (a key of ``EXPORTERS``).

    Returns the metadata written into the file. Raises ``ValueError`` for an unknown format, and
    ``CheckpointError`` when the weights do not fit the config.
    """
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(EXPORTERS)}")
    module = build_export_module(checkpoint, settings)
    network = module if isinstance(module, PixelNetwork) else module.network
    names = output_names(checkpoint, settings)
    metadata = export_metadata(checkpoint, settings, fmt, names, network.pixel_offset.flatten().tolist())
    with atomic_path(out) as tmp:
        EXPORTERS[fmt](module, example_input(settings), names, settings, metadata, tmp)
    return metadata


def read_metadata(path: str | Path) -> dict:
    """The ``export_metadata`` document of an exported file (.onnx: ONNX, else TorchScript); raises
    ``ValueError`` when the file carries none."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        text = props.get(METADATA_KEY)
    else:
        files = {EXTRA_FILE: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notice
            torch.jit.load(str(path), map_location="cpu", _extra_files=files)
        text = files[EXTRA_FILE] or None
    if text is None:
        raise ValueError(f"{path}: no sshvideo export metadata in this file")
    return json.loads(text)
