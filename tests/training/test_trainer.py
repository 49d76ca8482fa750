import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import DATA, REPO

from core import Detector, InferenceConfig, load_checkpoint, model_config
from core.errors import UserError
from core.model import build_ssh
from training.config import TrainConfig, recipe_for
from training.optim import parameter_groups
from training.schedule import lr_factor
from training.trainer import RunSetup, train
from training.wider import read_wider_folder

pytestmark = pytest.mark.slow


def test_paper_schedule_and_linear_scaling():
    paper = recipe_for("ssh_vgg16")
    assert (paper.lr, paper.batch_size, paper.steps, paper.lr_steps, paper.momentum, paper.weight_decay) == \
        (0.004, 8, 21000, (18000,), 0.9, 5e-4)
    assert lr_factor(17999, paper) == 1.0 and lr_factor(18000, paper) == pytest.approx(0.1)
    assert recipe_for("ssh_vgg16", batch_size=32).scaled_lr == pytest.approx(0.016)
    cosine = TrainConfig(schedule="cosine", steps=100, warmup_steps=10, lr_steps=())
    assert lr_factor(0, cosine) == pytest.approx(0.1) and lr_factor(10, cosine) == pytest.approx(1.0)
    assert lr_factor(100, cosine) == pytest.approx(0.01)


def test_reference_bias_rules():
    model = build_ssh(model_config("ssh_vgg16"))
    groups = {(g["lr_mult"], g["decay_mult"]): g["params"] for g in parameter_groups(model, batch_norm=False)}
    ids = {k: {id(p) for p in v} for k, v in groups.items()}
    assert id(model.heads["m1"].conv3x3[0].bias) in ids[(2.0, 0.0)]  # module bias: lr x2, no decay
    assert id(model.backbone.convs["conv3_1"].bias) in ids[(2.0, 1.0)]  # backbone bias: lr x2, decay
    assert id(model.fusion.fuse[0].bias) in ids[(2.0, 1.0)]
    assert id(model.heads["m3"].cls_head.weight) in ids[(1.0, 1.0)]
    every = set().union(*ids.values())
    assert id(model.backbone.convs["conv1_1"].weight) not in every  # frozen
    assert id(model.fusion.upsample.weight) not in every


def test_short_real_run_learns_the_faces_of_two_images(tmp_path):
    torch.set_num_threads(1)
    samples = read_wider_folder(DATA / "wider_mini")
    config = recipe_for("ssh_lite", steps=80, batch_size=2, lr=4e-3, lr_reference_batch=2, workers=0,
                        augment="paper", short_side=256, max_side=400, warmup_steps=5, log_every=5,
                        checkpoint_every=1000, seed=0)
    result = train(config, samples, RunSetup(out_dir=tmp_path, device="cpu", progress=False,
                                             inference=InferenceConfig(short_side=256, max_side=400)))
    log = np.genfromtxt(tmp_path / "train_log.csv", delimiter=",", names=True)
    assert log["loss"][-3:].mean() < 0.5 * log["loss"][:2].mean()
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.training_state["step"] == 80 and ckpt.metadata["steps"] == 80
    detector = Detector.from_checkpoint(ckpt, device="cpu")
    from core.boxes import box_iou_inclusive
    from training.images import read_image_rgb

    for sample in samples:
        [dets] = detector.detect([read_image_rgb(sample.source)])
        confident = dets.above(0.5)
        iou = box_iou_inclusive(torch.from_numpy(sample.boxes), torch.from_numpy(confident.boxes))
        assert len(confident) and bool((iou.max(dim=1).values >= 0.5).all()), f"faces missed in {sample.source}"


def test_resume_extends_the_schedule_and_keeps_the_origin(tmp_path, random_lite_checkpoint):
    torch.set_num_threads(1)
    samples = read_wider_folder(DATA / "wider_mini")
    config = recipe_for("ssh_lite", steps=2, batch_size=2, workers=0, crop_size=128, log_every=1,
                        checkpoint_every=1)
    first = train(config, samples, RunSetup(out_dir=tmp_path, device="cpu", progress=False,
                                            init_from=random_lite_checkpoint))
    state = load_checkpoint(first.checkpoint).training_state
    assert state["step"] == 2 and state["optimizer"]["state"]
    with (tmp_path / "train_log.csv").open("a") as log:  # a stopped run may log past its last checkpoint
        log.write("3,0.001,1.0,0,0,0,0,0,0,0\nx,0.0")
    longer = train(recipe_for("ssh_lite", steps=4, batch_size=2, workers=0, crop_size=128, log_every=1,
                              checkpoint_every=1), samples,
                   RunSetup(out_dir=tmp_path, device="cpu", progress=False, resume=first.checkpoint))
    resumed = load_checkpoint(longer.checkpoint)
    assert longer.steps == 4 and resumed.training_state["step"] == 4
    assert resumed.metadata["initialised_from"]["checkpoint"] == random_lite_checkpoint.name
    steps = np.genfromtxt(tmp_path / "train_log.csv", delimiter=",", names=True)["step"]
    assert steps.tolist() == [1, 2, 3, 4]


def test_two_process_ddp_keeps_weights_identical(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(REPO / "tests" / "training" / "ddp_worker.py"), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    torch.manual_seed(recipe_for("ssh_lite").seed)  # rank 0's initialisation, which DDP broadcasts
    initial = build_ssh(model_config("ssh_lite")).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a if not k.endswith("num_batches_tracked") and "running" not in k)
    weights = [k for k in a if k.endswith(".weight") and a[k].dtype.is_floating_point]
    assert sum(not torch.allclose(a[k], initial[k]) for k in weights) > len(weights) // 2  # they trained
    assert (tmp_path / "last.pt").exists()


def test_fine_tune_cli_from_a_checkpoint_mixing_in_wider(tmp_path, random_lite_checkpoint, capsys):
    from sshvideo.cli import main

    torch.set_num_threads(1)
    code = main(["--quiet", "train", "--model", "ssh_lite", "--init-from", str(random_lite_checkpoint),
                 "--data", f"wider={DATA / 'wider_mini'}", "--mix-wider", str(DATA / "wider_mini"), "--mix-ratio", "0.5",
                 "--steps", "2", "--batch-size", "2", "--workers", "0", "--crop-size", "128", "--out", str(tmp_path),
                 "--crop-scales", "0.5,1", "--border-bands", "0.5", "--mosaic", "0.5", "--allowed-border", "64",
                 "--box-normaliser", "positives",
                 "--val", f"wider={DATA / 'wider_mini'}", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt.metadata["train_config"]["crop_scales"] == [0.5, 1.0]
    assert ckpt.metadata["train_config"]["border_bands"] == 0.5
    assert ckpt.metadata["train_config"]["mosaic"] == 0.5
    assert ckpt.metadata["train_config"]["allowed_border"] == 64
    assert ckpt.metadata["train_config"]["box_normaliser"] == "positives"
    assert ckpt.metadata["initialised_from"] == {"checkpoint": random_lite_checkpoint.name,
                                                 "trained_on": "nothing (random init)"}
    assert any("mixed in" in d for d in ckpt.metadata["trained_on"])
    assert "ap50" in ckpt.metadata["metrics"]


@pytest.mark.parametrize("scales, message", [("0,0.5", "must lie in (0, 2]"), ("2.5", "must lie in (0, 2]"),
                                             ("0.5,x", "not a number: 'x'")])
def test_bad_crop_scales_are_rejected_by_the_parser(tmp_path, capsys, scales, message):
    from sshvideo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--crop-scales", scales])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option, value, message", [
    ("--border-bands", "1.5", "must lie in [0, 1]"), ("--border-bands", "-0.1", "must lie in [0, 1]"),
    ("--border-bands", "half", "not a number"), ("--allowed-border", "-1", "must be 0 or more"),
    ("--allowed-border", "2.5", "not a whole number")])
def test_bad_border_options_are_rejected_by_the_parser(tmp_path, capsys, option, value, message):
    from sshvideo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cudnn_autotuning_is_scoped_to_its_block():
    import torch

    from training.trainer import cudnn_autotuning

    before = torch.backends.cudnn.benchmark
    with cudnn_autotuning(not before):
        assert torch.backends.cudnn.benchmark is (not before)
        with cudnn_autotuning(before):  # evaluation inside a training block turns it back off
            assert torch.backends.cudnn.benchmark is before
        assert torch.backends.cudnn.benchmark is (not before)
    assert torch.backends.cudnn.benchmark is before


def test_frozen_backbone_parts_keep_weights_and_statistics_through_training_and_evaluation(
        tmp_path, random_lite_checkpoint):
    torch.set_num_threads(1)
    samples = read_wider_folder(DATA / "wider_mini")
    config = recipe_for("ssh_lite", steps=3, batch_size=2, workers=0, crop_size=128, log_every=1,
                        checkpoint_every=1, eval_every=1, freeze_at=2)
    evaluations = []

    def evaluator(detector):
        evaluations.append(detector.model.training)
        return {"ap50": 0.0}

    result = train(config, samples, RunSetup(out_dir=tmp_path, device="cpu", progress=False,
                                             init_from=random_lite_checkpoint, evaluator=evaluator))
    before = load_checkpoint(random_lite_checkpoint).state_dict
    after = load_checkpoint(result.checkpoint).state_dict
    frozen = [k for k in after if k.startswith(("backbone.stem.", "backbone.stages.0."))]
    trained = [k for k in after if k.startswith("backbone.stages.1.") and k.endswith(("weight", "running_mean"))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)  # running statistics included
    assert trained and all(not torch.equal(before[k], after[k]) for k in trained)
    assert len(evaluations) >= 3 and not any(evaluations)
    assert load_checkpoint(result.checkpoint).metadata["train_config"]["freeze_at"] == 2


def test_freezing_more_parts_than_the_backbone_has_is_a_user_error(tmp_path, random_lite_checkpoint):
    samples = read_wider_folder(DATA / "wider_mini")
    config = recipe_for("ssh_lite", steps=1, batch_size=2, workers=0, crop_size=128, freeze_at=5)
    with pytest.raises(UserError, match="--freeze-at: freeze_at must lie in 0..4"):
        train(config, samples, RunSetup(out_dir=tmp_path, device="cpu", progress=False,
                                        init_from=random_lite_checkpoint))
