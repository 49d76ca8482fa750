"""The one checkpoint format of sshvideo.

A checkpoint is a ``torch.save``d dict of plain data, loadable with ``weights_only=True``::

    {"format": "sshvideo-ssh", "version": 1,
     "model": ModelConfig.to_dict(),
     "state_dict": {name: tensor},
     "metadata": {"trained_on": ..., "steps": ..., "metrics": {...}, "inference": {...}},
     "training_state": {...}}            # optional: optimizer/scheduler/step, for --resume

Every failure raises ``CheckpointError`` naming the file.
"""
from __future__ import annotations

import os
import pickle
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from core.config import ModelConfig
from core.errors import SshvideoError
from core.model import SSH, build_ssh

FORMAT_NAME = "sshvideo-ssh"
FORMAT_VERSION = 1


class CheckpointError(SshvideoError):
    """A checkpoint file is missing, unreadable, of another format or version, or does not fit."""


# What ``torch.load(weights_only=True)`` raised on damaged files in a fuzzing run (3,000 byte-level
# mutations of a checkpoint, zip and legacy formats): its zip reader, its restricted unpickler and
# its storage rebuilding each fail in their own way. UnicodeDecodeError is a ValueError, struct.error
# comes from reading record sizes.
TORCH_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError,
                     AttributeError, TypeError, AssertionError, OverflowError, struct.error)


def load_torch_file(path: str | Path, what: str = "sshvideo checkpoint"):
    """``torch.load(path, weights_only=True)`` on the CPU; ``CheckpointError`` naming the file when it
    is missing or cannot be read (no code in the file ever runs: only tensors and plain data load)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: {what} not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TORCH_LOAD_ERRORS as exc:
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable {what} ({first_line})") from exc


def check_finite(state_dict: dict, path: Path | None) -> None:
    """Refuse NaN or infinite weights: such a network finds nothing, silently."""
    for name, tensor in state_dict.items():
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: weights are not finite (NaN or infinity in {name!r:.80})")


@dataclass
class Checkpoint:
    config: ModelConfig
    state_dict: dict[str, torch.Tensor]
    metadata: dict = field(default_factory=dict)
    training_state: dict | None = None
    path: Path | None = None

    def build_model(self) -> SSH:
        """A model with these weights; raises ``CheckpointError`` summarising any mismatch."""
        model = build_ssh(self.config)
        load_state_dict_strict(model, self.state_dict, self.path)
        return model


def load_state_dict_strict(model: nn.Module, state_dict: dict, path: Path | None) -> None:
    """Load all weights or raise one readable error (missing/unexpected/mis-shaped tensors)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(k for k in set(expected) & set(state_dict)
                        if tuple(expected[k].shape) != tuple(state_dict[k].shape))
    if missing or unexpected or mis_shaped:
        def few(keys):
            return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
        parts = [f"{len(v)} {k}: {few(v)}" for k, v in
                 (("missing", missing), ("unexpected", unexpected), ("with another shape", mis_shaped)) if v]
        raise CheckpointError(f"{path}: weights do not fit the architecture in its config ({'; '.join(parts)})")
    model.load_state_dict(state_dict, strict=True)


def save_checkpoint(path: str | Path, model: nn.Module, config: ModelConfig, metadata: dict | None = None,
                    training_state: dict | None = None) -> Path:
    """Write a checkpoint atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = model.module if hasattr(model, "module") else model  # unwrap DDP
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "metadata": metadata or {},
    }
    if training_state is not None:
        payload["training_state"] = training_state
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a checkpoint gets the usual permissions
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint (``torch.load(weights_only=True)``, on the CPU)."""
    path = Path(path)
    payload = load_torch_file(path, "sshvideo checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        keys = sorted(map(str, payload))[:5] if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not an sshvideo checkpoint (expected format {FORMAT_NAME!r}; found {keys})")
    version = payload.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r:.40} is newer than this sshvideo "
                              f"supports ({FORMAT_VERSION}); upgrade sshvideo")
    try:
        config = ModelConfig.from_dict(payload.get("model"))
    except ValueError as exc:
        raise CheckpointError(f"{path}: invalid model config ({exc})") from exc
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path}: state_dict missing or not a dict of tensors")
    check_finite(state, path)
    metadata = payload.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: metadata must be a mapping, got {type(metadata).__name__}")
    if "inference" in metadata:
        from core.inference import (
            InferenceConfig,  # lazily: core.inference imports this module
        )

        try:
            InferenceConfig.from_dict(metadata["inference"])
        except ValueError as exc:
            raise CheckpointError(f"{path}: invalid inference settings in its metadata ({exc})") from exc
    training_state = payload.get("training_state")
    if training_state is not None and not isinstance(training_state, dict):
        raise CheckpointError(f"{path}: training_state must be a mapping, got {type(training_state).__name__}")
    return Checkpoint(config, state, dict(metadata), training_state, path)
