"""The SSH face detector: model, anchors, box coding, inference and checkpoints (torch only)."""
from core.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from core.config import LevelSpec, ModelConfig, Normalization, model_config
from core.inference import Detections, Detector, InferenceConfig, resolve_device
from core.model import SSH, build_ssh

__all__ = [
    "SSH", "Checkpoint", "CheckpointError", "Detections", "Detector", "InferenceConfig", "LevelSpec",
    "ModelConfig", "Normalization", "build_ssh", "load_checkpoint", "model_config", "resolve_device",
    "save_checkpoint",
]
