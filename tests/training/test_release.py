import pytest
import torch

from core import build_ssh, load_checkpoint, model_config, save_checkpoint
from core.inference import Detector
from training.release import main


def test_release_keeps_weights_and_provenance_and_drops_the_optimiser_state(tmp_path):
    torch.manual_seed(0)
    cfg = model_config("ssh_lite")
    model = build_ssh(cfg)
    optimiser = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 3, 64, 64))[0][0].sum().backward()
    optimiser.step()
    source = save_checkpoint(tmp_path / "last.pt", model, cfg, {"steps": 7, "metrics": {"easy": 0.5},
                                                                "inference": {"short_side": None}},
                             training_state={"step": 7, "optimizer": optimiser.state_dict()})

    assert main([str(source), str(tmp_path / "release.pt"), "--vote-threshold", "0.4", "--pad-bottom", "64"]) == 0
    metadata = load_checkpoint(tmp_path / "release.pt").metadata

    released, original = load_checkpoint(tmp_path / "release.pt"), load_checkpoint(source)
    assert released.training_state is None and original.training_state is not None
    assert released.state_dict.keys() == original.state_dict.keys()
    assert all(torch.equal(released.state_dict[k], original.state_dict[k]) for k in original.state_dict)
    assert metadata == {"steps": 7, "metrics": {"easy": 0.5}, "released_from": "last.pt",
                        "inference": {"short_side": None, "vote_threshold": 0.4, "pad_bottom": 64}}
    inference = Detector.from_checkpoint(tmp_path / "release.pt", device="cpu").inference
    assert inference.vote_threshold == 0.4 and inference.pad_bottom == 64 and inference.pad_right == 0
    assert (tmp_path / "release.pt").stat().st_size < source.stat().st_size / 2


def test_release_of_a_bad_file_is_a_message(tmp_path, capsys):
    bad = tmp_path / "notes.pt"
    bad.write_text("not a checkpoint")
    assert main([str(bad), str(tmp_path / "out.pt")]) == 1
    assert "notes.pt" in capsys.readouterr().err
    assert not (tmp_path / "out.pt").exists()


@pytest.mark.parametrize("value", ["1.5", "-0.1", "x"])
def test_release_rejects_thresholds_outside_zero_one(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--vote-threshold", value])
    assert exit_info.value.code == 2 and "--vote-threshold" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "600", "3.5"])
def test_release_rejects_bad_paddings(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--pad-bottom", value])
    assert exit_info.value.code == 2 and "--pad-bottom" in capsys.readouterr().err
