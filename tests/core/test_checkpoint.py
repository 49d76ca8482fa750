import pickle

import pytest
import torch

from core import (
    CheckpointError,
    build_ssh,
    load_checkpoint,
    model_config,
    save_checkpoint,
)


@pytest.fixture
def lite():
    cfg = model_config("ssh_lite")
    return build_ssh(cfg), cfg


def test_round_trip_keeps_weights_config_and_metadata(tmp_path, lite):
    model, cfg = lite
    path = save_checkpoint(tmp_path / "m.pt", model, cfg, {"trained_on": ["x"], "metrics": {"hard": 0.5}})
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg and ckpt.metadata["metrics"]["hard"] == 0.5
    rebuilt = ckpt.build_model()
    for k, v in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[k], v)
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temporary file


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found") as err:
        load_checkpoint(tmp_path / "nope.pt")
    assert "nope.pt" in str(err.value)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match="garbage.pt"):
        load_checkpoint(path)


def test_other_torch_file_is_not_a_checkpoint(tmp_path, lite):
    path = tmp_path / "plain_state_dict.pt"
    torch.save(lite[0].state_dict(), path)
    with pytest.raises(CheckpointError, match="not an sshvideo checkpoint"):
        load_checkpoint(path)


def test_hostile_pickle_is_refused_by_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    with path.open("wb") as fh:
        pickle.dump({"format": "sshvideo-ssh", "x": Evil()}, fh)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)


def test_newer_format_version(tmp_path, lite):
    path = save_checkpoint(tmp_path / "new.pt", *lite)
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="version 99 is newer"):
        load_checkpoint(path)


def test_architecture_mismatch_is_summarised(tmp_path, lite):
    path = save_checkpoint(tmp_path / "mismatch.pt", *lite)
    payload = torch.load(path, weights_only=True)
    payload["model"] = model_config("ssh_vgg16").to_dict()
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="mismatch.pt: weights do not fit") as err:
        load_checkpoint(path).build_model()
    assert "missing" in str(err.value) and len(str(err.value)) < 1000


def test_malformed_config(tmp_path, lite):
    path = save_checkpoint(tmp_path / "badcfg.pt", *lite)
    payload = torch.load(path, weights_only=True)
    del payload["model"]["levels"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_checkpoint(path)
