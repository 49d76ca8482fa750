"""Mutated model configs and checkpoints: a result or the project's own error, never another exception."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from property_helpers import SETTINGS, json_mutated, mutated

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import ModelConfig, model_config
from core.model import build_ssh

LITE = model_config("ssh_lite").to_dict()


@SETTINGS
@given(data=json_mutated(LITE))
def test_model_config_from_mutated_dict(data):
    try:
        config = ModelConfig.from_dict(data)
    except ValueError:
        return
    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    cfg = model_config("ssh_lite")
    path = save_checkpoint(tmp_path_factory.mktemp("ckpt") / "lite.pt", build_ssh(cfg), cfg,
                           {"inference": {"short_side": None, "max_side": 640}})
    return path, torch.load(path, weights_only=True)


def _loads_or_refuses(path):
    try:
        load_checkpoint(path).build_model()
    except CheckpointError as exc:
        assert path.name in str(exc)


@SETTINGS
@given(model=json_mutated(LITE, max_ops=2),
       inference=json_mutated({"short_side": None, "max_side": 640, "score_threshold": 0.5}, max_ops=2),
       poison=st.sampled_from([None, float("nan"), float("inf")]))
def test_checkpoint_with_mutated_fields(checkpoint, model, inference, poison):
    path, payload = checkpoint
    changed = dict(payload, model=model, metadata={"inference": inference})
    if poison is not None:
        state = {k: v.clone() for k, v in payload["state_dict"].items()}
        next(v for v in state.values() if v.is_floating_point()).view(-1)[0] = poison
        changed["state_dict"] = state
    out = path.parent / "fields.pt"
    torch.save(changed, out)
    _loads_or_refuses(out)


@pytest.fixture(scope="module")
def checkpoint_bytes(checkpoint):
    return checkpoint[0].read_bytes()


@SETTINGS
@given(edit=st.data())
def test_checkpoint_with_mutated_bytes(checkpoint, checkpoint_bytes, edit):
    # mutate the pickled structure (the zip's head and its central directory at the end), where damage
    # reaches the loader's logic rather than tensor payload bytes
    head, tail = checkpoint_bytes[:4096], checkpoint_bytes[-4096:]
    where = edit.draw(st.sampled_from(["head", "tail"]))
    part = edit.draw(mutated(head if where == "head" else tail, max_ops=3))
    data = part + checkpoint_bytes[4096:] if where == "head" else checkpoint_bytes[:-4096] + part
    out = checkpoint[0].parent / "bytes.pt"
    out.write_bytes(data)
    _loads_or_refuses(out)
