"""Every extension point is a plain dict: one new file and one line add an entry. These tests loop over
each registry, so a new entry is exercised (and offered by the command line) without a new test."""
import argparse

import numpy as np
import pytest
import torch

from core.inference import Detections
from sshvideo.cli import build_parser, main


def command_choices(command: str, option: str) -> list:
    """The choices the command line offers for ``command``'s ``option``."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return list(next(a for a in sub._actions if option in a.option_strings).choices)


def test_every_command_module_has_the_protocol_and_its_help_runs(capsys):
    from sshvideo.commands import COMMANDS, load_command

    for name in COMMANDS:
        module = load_command(name)
        assert module.HELP and callable(module.add_arguments) and callable(module.run)
        assert callable(module.Options.from_args) and module.Options.__dataclass_params__.frozen
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0 and module.HELP in " ".join(capsys.readouterr().out.split())


def test_every_model_has_a_recipe_builds_and_runs():
    from core.config import MODEL_CONFIGS
    from core.model import build_ssh
    from training.config import RECIPES

    assert list(RECIPES) == list(MODEL_CONFIGS) == command_choices("train", "--model")
    for name, config in MODEL_CONFIGS.items():
        assert RECIPES[name].config.model == name
        outputs = build_ssh(config()).eval()(torch.zeros(1, 3, 64, 96))
        assert len(outputs) == len(config().levels)


def test_every_training_choice_is_offered_and_accepted_by_the_config():
    from training.augment import AUGMENTATIONS
    from training.config import TrainConfig
    from training.loss import BOX_NORMALISERS
    from training.optim import OPTIMIZERS
    from training.schedule import SCHEDULES, lr_factor

    assert command_choices("train", "--augment") == list(AUGMENTATIONS)
    assert command_choices("train", "--box-normaliser") == list(BOX_NORMALISERS)
    for name in OPTIMIZERS:
        TrainConfig(optimizer=name)
    for name in SCHEDULES:
        assert 0 < lr_factor(10, TrainConfig(schedule=name, steps=100)) <= 1
    for name, build in AUGMENTATIONS.items():
        image, boxes = build(TrainConfig(augment=name, crop_size=64, short_side=64, max_side=96))(
            np.zeros((80, 120, 3), np.uint8), np.array([[10, 10, 40, 40]], np.float32), np.random.default_rng(0))
        assert image.dtype == np.uint8 and boxes.shape[1] == 4
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="lion")


def test_every_render_mode_is_offered_and_draws_a_frame():
    from sshvideo.render import RENDERERS, RenderSettings, render

    assert command_choices("annotate", "--render") == list(RENDERERS)
    frame = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    dets = Detections(np.array([[20, 10, 50, 40]], np.float32), np.array([0.9], np.float32))
    for mode in RENDERERS:
        out = render(frame, dets, mode, RenderSettings())
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert (mode == "none") == np.array_equal(out, frame)


@pytest.mark.video
def test_every_detection_format_is_written_by_annotate(clip_factory, tmp_path, confident_checkpoint):
    from sshvideo.exporters import WRITERS

    clip = clip_factory(frames=4)
    out = tmp_path / "out"
    assert main(["--quiet", "annotate", str(clip), "--weights", str(confident_checkpoint), "--out", str(out),
                 "--format", ",".join(WRITERS)]) == 0
    for writer in WRITERS.values():
        written = out / f"{clip.stem}{writer.suffix}"
        assert written.is_file() and written.stat().st_size > 0, written
