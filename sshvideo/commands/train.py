"""``sshvideo train``: train or fine-tune SSH on any supported labels (works under ``torchrun``)."""
from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, fields
from pathlib import Path

from core.errors import UserError
from sshvideo.commands import exit_codes
from sshvideo.commands.common import show_progress
from training.arg_types import (
    crop_scales,
    fraction,
    non_negative_int,
    positive_int,
    positive_number,
)

HELP = "train or fine-tune SSH (see README: Training)"

# Options that override a field of the recipe's TrainConfig: (option, type, help).
RECIPE_OVERRIDES = (
    ("steps", positive_int, "optimiser steps"),
    ("batch-size", positive_int, "images per step, all processes"),
    ("accumulation", positive_int, "micro-batches per step"),
    ("lr", positive_number, "learning rate at the recipe's reference batch (scaled linearly)"),
    ("workers", non_negative_int, "data loader processes"),
    ("crop-size", positive_int, "crop recipe: training image side"),
    ("warmup-steps", non_negative_int, "steps of linear LR warm-up"),
    ("eval-every", non_negative_int, "steps between validations"),
    ("checkpoint-every", positive_int, "steps between checkpoints"),
    ("eval-max-images", non_negative_int, "validate on at most this many images"),
    ("seed", non_negative_int, "random seed"),
    ("log-every", positive_int, "steps between log lines"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.augment import AUGMENTATIONS
    from training.config import RECIPES
    from training.loss import BOX_NORMALISERS
    from training.readers import FORMATS

    parser.add_argument("--model", choices=list(RECIPES),
                        help="architecture and its built-in recipe (default: the --init-from checkpoint's, else "
                             "ssh_lite)")
    parser.add_argument("--data", action="append", required=True, metavar="[FORMAT=]PATH",
                        help=f"training labels; repeat to mix sources. FORMAT: {', '.join(FORMATS)} "
                             "(auto-detected when omitted)")
    parser.add_argument("--video", action="append", default=[], metavar="PATH", type=Path,
                        help="video the cvat-video/mot labels refer to (when not next to them)")
    parser.add_argument("--val", metavar="[FORMAT=]PATH", help="validation set: a WIDER-layout folder (with --val-gt: "
                                                              "official AP) or any labels (AP@0.5)")
    parser.add_argument("--val-gt", metavar="DIR", type=Path,
                        help="folder with the official wider_*_val.mat files (with --val)")
    parser.add_argument("--out", "-o", required=True, type=Path, help="run folder: checkpoints and logs")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", metavar="CKPT", type=Path,
                       help="continue a run (its --steps may be raised to extend it)")
    start.add_argument("--init-from", metavar="CKPT", type=Path, help="fine-tune from these weights")
    parser.add_argument("--backbone-weights", metavar="torchvision|PATH",
                        help="ImageNet weights for a backbone that has them (ssh_vgg16): torchvision's (online) "
                             "or a local .pth of torchvision's VGG-16")
    parser.add_argument("--mix-wider", metavar="DIR", type=Path,
                        help="fine-tuning: mix in WIDER images from this folder so the detector does not forget")
    parser.add_argument("--mix-ratio", type=fraction, default=0.5,
                        help="share of WIDER images when mixing, in (0, 1) (default 0.5)")
    for name, kind, text in RECIPE_OVERRIDES:
        parser.add_argument(f"--{name}", type=kind, help=f"{text} (default: the recipe's)")
    parser.add_argument("--crop-scales", type=crop_scales, metavar="S1,S2,...",
                        help="crop recipe: square crop sides as fractions of the image's short side, drawn "
                             "uniformly; above 1 zooms out onto a black canvas (default: the recipe's, "
                             "0.3,0.45,0.6,0.8,1.0)")
    parser.add_argument("--border-bands", type=fraction, metavar="P",
                        help="crop recipe: share of crops shrunk inside random edge bands (replicated or flat "
                             "colour, up to 20%% of the side), like letterboxed footage (default: the recipe's, 0)")
    parser.add_argument("--mosaic", type=fraction, metavar="P",
                        help="crop recipe: share of training images that are 2×2 mosaics of four half-size crops "
                             "of different images (more scenes per image, faces nearer the test scale; default: 0)")
    parser.add_argument("--occlusion", type=fraction, metavar="P",
                        help="crop recipe: chance that each face gets a synthetic occluder over its lower part or "
                             "one side (masks, scarves, hands; default: 0)")
    parser.add_argument("--degrade", type=fraction, metavar="P",
                        help="crop recipe: share of crops blurred, darkened with sensor noise or JPEG-compressed "
                             "(default: 0)")
    parser.add_argument("--freeze-at", type=non_negative_int, metavar="N",
                        help="fine-tuning: keep the first N backbone parts (ssh_lite: 1 the stem, 2 also the "
                             "stride-4 stage, ...) fixed, weights and BatchNorm statistics; 2 makes an ssh_lite step "
                             "on a CPU 1.4-1.7x as fast (default: 0, train everything)")
    parser.add_argument("--allowed-border", type=non_negative_int, metavar="PX",
                        help="train anchors reaching up to PX pixels outside the image, in every module (default: "
                             "the recipe's: ssh_lite 512; ssh_vgg16 each module's own as in the reference, M1/M2 0 "
                             "and M3 512, which leaves M1/M2 anchors at the image edge untrained)")
    parser.add_argument("--box-normaliser", choices=list(BOX_NORMALISERS),
                        help="what divides the box-regression loss: the number of sampled anchors (the reference "
                             "code) or of positives (the paper's eq. 1, a 4-256x heavier box term; default: the "
                             "recipe's, sampled)")
    parser.add_argument("--augment", choices=list(AUGMENTATIONS),
                        help="paper: flip + fixed scale; crop: random square crops, flips, colour jitter (default: "
                             "the recipe's)")
    parser.add_argument("--device", default="auto")


@dataclass(frozen=True)
class Options:
    data: tuple[str, ...]
    out: Path
    overrides: dict  # TrainConfig field -> value given on the command line
    model: str | None = None
    videos: tuple[Path, ...] = ()
    val: str | None = None
    val_gt: Path | None = None
    resume: Path | None = None
    init_from: Path | None = None
    backbone_weights: str | None = None
    mix_wider: Path | None = None
    mix_ratio: float = 0.5
    device: str = "auto"
    progress: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        from training.config import TrainConfig

        if len(args.video) > 1 and len(args.video) != len(args.data):
            raise UserError("give one --video per --data, or a single --video for all")
        if args.mix_wider and not 0 < args.mix_ratio < 1:
            raise UserError(f"--mix-ratio must lie strictly between 0 and 1, got {args.mix_ratio}")
        if args.resume is None and (args.out / "last.pt").exists():
            raise UserError(f"{args.out} holds a run already: continue it with --resume {args.out / 'last.pt'}, "
                            "or choose another --out")
        known = {f.name for f in fields(TrainConfig)}
        overrides = {k: v for k, v in vars(args).items() if k in known and k != "model" and v is not None}
        return cls(tuple(args.data), args.out, overrides, args.model, tuple(args.video), args.val, args.val_gt,
                   args.resume, args.init_from, args.backbone_weights, args.mix_wider, args.mix_ratio, args.device,
                   show_progress(args))


def run(options: Options) -> int:
    from core.inference import InferenceConfig
    from training.config import RECIPES, recipe_for
    from training.trainer import RunSetup, train

    logging.getLogger("training").setLevel(logging.INFO)
    model = _model_name(options)
    try:
        config = recipe_for(model, **options.overrides)
    except ValueError as exc:  # a combination the recipe cannot run (e.g. --mosaic without --augment crop)
        raise UserError(str(exc)) from None
    samples, described = _samples(options)
    if not samples:
        raise UserError("no training samples")
    recipe = RECIPES[model]
    setup = RunSetup(out_dir=options.out, device=options.device, evaluator=_evaluator(options, config.eval_max_images),
                     resume=options.resume, init_from=options.init_from, backbone_weights=options.backbone_weights,
                     data_description=tuple(described), progress=options.progress,
                     inference=InferenceConfig(short_side=recipe.test_short_side, max_side=recipe.test_max_side))
    result = train(config, samples, setup)
    if result.checkpoint is not None:
        print(f"trained {config.model} for {result.steps} steps: {result.checkpoint}")
    return exit_codes.OK


def _model_name(options: Options) -> str:
    """The model to train: ``--model``, else the starting checkpoint's, else ssh_lite. A checkpoint that
    holds another network than ``--model`` names is refused (it would train that network under the wrong
    name)."""
    from core.checkpoint import load_checkpoint
    from core.config import MODEL_CONFIGS

    start = options.resume or options.init_from
    if start is None:
        return options.model or "ssh_lite"
    held = load_checkpoint(start).config
    matching = [name for name, build in MODEL_CONFIGS.items() if build() == held]
    if options.model is None:
        if not matching:
            raise UserError(f"{start}: its network matches none of {', '.join(MODEL_CONFIGS)}; name the recipe to "
                            "train it with --model")
        return matching[0]
    if options.model not in matching:
        raise UserError(f"{start} holds {' / '.join(matching) or 'another network'}, not {options.model}: "
                        f"omit --model to continue with the checkpoint's own network")
    return options.model


def _samples(options: Options):
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    samples, described = [], []
    for i, spec in enumerate(options.data):
        video = options.videos[i] if len(options.videos) > 1 else (options.videos[0] if options.videos else None)
        found = read_labels(spec, video)
        samples += found
        described.append(f"{spec} ({len(found)} images)")
    samples = materialize_video_frames(samples, options.out / "frame_cache")
    if options.mix_wider:
        wider = read_labels(f"wider={options.mix_wider}")
        count = min(len(wider), round(len(samples) * options.mix_ratio / (1 - options.mix_ratio)))
        samples += random.Random(0).sample(wider, count)
        described.append(f"{count} WIDER FACE images from {options.mix_wider} (mixed in against forgetting)")
    return samples, described


def _evaluator(options: Options, max_images: int):
    if not options.val:
        return None
    if options.val_gt:
        from training.evaluate import make_wider_evaluator

        return make_wider_evaluator(options.val, options.val_gt, max_images)
    from training.evaluate import make_labelled_set_evaluator
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    return make_labelled_set_evaluator(materialize_video_frames(read_labels(options.val),
                                                                options.out / "frame_cache_val"))
