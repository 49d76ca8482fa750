"""The SSH face detector: model, anchors, box coding, inference and checkpoints (torch only).

The public names below load lazily, so that light modules of this package (``core.config``,
``core.errors``, ``core.atomic``, ``core.file_types``) import without torch: the command line builds
its parser from their registries before it knows whether it needs the network at all.
"""
from __future__ import annotations

import importlib

_PUBLIC = {
    "Checkpoint": "core.checkpoint", "CheckpointError": "core.checkpoint", "load_checkpoint": "core.checkpoint",
    "save_checkpoint": "core.checkpoint",
    "LevelSpec": "core.config", "ModelConfig": "core.config", "Normalization": "core.config",
    "model_config": "core.config",
    "Detections": "core.inference", "Detector": "core.inference", "InferenceConfig": "core.inference",
    "resolve_device": "core.inference",
    "SSH": "core.model", "build_ssh": "core.model",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
