"""The folded SSH network run by ONNX Runtime: the fast CPU path of ``Detector``.

On two CPU cores ONNX Runtime ran the same folded network 1.2–2.2× as fast as the traced, frozen torch
graph in this project's runs (its convolutions use blocked layouts and fused activations; see
``bench/speed.py``). The network is exported from the torch model in memory when the detector is built
(about a second), with a dynamic batch, height and width, so one session serves every frame size; the
fusion crop's sizes are exported as shape operations, not constants (a test checks other shapes against
eager torch).

Needs the ``onnx`` package (torch's exporter writes through it) and ``onnxruntime``.
"""
from __future__ import annotations

import importlib.util
import io
import warnings

import torch
from torch import nn

from core.model import FlatOutputs, LevelOutput, pair_outputs

EXPORT_EXAMPLE_SHAPE = (1, 3, 96, 128)  # any shape works: the axes are dynamic
OPSET = 17


def onnxruntime_available() -> bool:
    """True when both ``onnxruntime`` and ``onnx`` (needed to export) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def export_onnx(model: nn.Module) -> bytes:
    """Serialise an eval-mode SSH ``model`` (float32, CPU) to ONNX with dynamic N, H and W."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(FlatOutputs(model).eval(), (torch.zeros(EXPORT_EXAMPLE_SHAPE),), buffer,
                          dynamo=False, opset_version=OPSET, input_names=["images"],
                          dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}})
    return buffer.getvalue()


class OnnxRuntimeNetwork:
    """Callable like the model: (N, 3, H, W) float32 CPU tensor -> [(cls, reg) per module] as tensors.

    Args:
        model: eval-mode SSH model on the CPU (BatchNorm and input normalisation already folded).
        threads: intra-op threads (default: torch's own setting, so ``torch.set_num_threads`` applies).
    """

    def __init__(self, model: nn.Module, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle workers sleep instead of spinning: spinning ones steal the cores from the torch pre- and
        # post-processing around each run (measured: detect() 25-28 ms without spinning, 43-47 with).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(export_onnx(model), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images: torch.Tensor) -> list[LevelOutput]:
        flat = self.session.run(None, {self.input_name: images.contiguous().numpy()})
        return pair_outputs([torch.from_numpy(array) for array in flat])
