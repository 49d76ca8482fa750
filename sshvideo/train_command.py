"""``sshvideo train``: the CLI edge of ``training.trainer.train`` (works under ``torchrun``)."""
from __future__ import annotations

import logging
import random
from pathlib import Path

from core.errors import UserError


def _samples(args):
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    if len(args.video) > 1 and len(args.video) != len(args.data):
        raise UserError("give one --video per --data, or a single --video for all")
    samples, described = [], []
    for i, spec in enumerate(args.data):
        video = args.video[i] if len(args.video) > 1 else (args.video[0] if args.video else None)
        found = read_labels(spec, video)
        samples += found
        described.append(f"{spec} ({len(found)} images)")
    samples = materialize_video_frames(samples, Path(args.out) / "frame_cache")
    if args.mix_wider:
        if not 0 < args.mix_ratio < 1:
            raise UserError("--mix-ratio must be between 0 and 1")
        wider = read_labels(f"wider={args.mix_wider}")
        count = min(len(wider), round(len(samples) * args.mix_ratio / (1 - args.mix_ratio)))
        chosen = random.Random(0).sample(wider, count)
        samples += chosen
        described.append(f"{count} WIDER FACE images from {args.mix_wider} (mixed in against forgetting)")
    return samples, described


def _evaluator(args, out: Path):
    if not args.val:
        return None
    if args.val_gt:
        from training.evaluate import make_wider_evaluator

        return make_wider_evaluator(args.val, args.val_gt, args.eval_max_images or 0)
    import numpy as np

    from training.images import read_image_rgb
    from training.metrics import average_precision
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    val = materialize_video_frames(read_labels(args.val), out / "frame_cache_val")

    def evaluate(detector):
        preds = []
        for s in val:
            [d] = detector.detect([read_image_rgb(s.source)])
            preds.append(np.concatenate([d.boxes, d.scores[:, None]], axis=1))
        ap = average_precision([s.boxes for s in val], preds)[0]
        return {"ap50": round(ap, 4), "score": round(ap, 4)}

    return evaluate


def run_train_command(args, progress: bool) -> int:
    from core.checkpoint import CheckpointError
    from core.errors import ImageReadError, LabelFormatError
    from core.inference import InferenceConfig
    from training.config import recipe_for
    from training.trainer import train

    logging.getLogger("training").setLevel(logging.INFO)
    overrides = dict(steps=args.steps, batch_size=args.batch_size, accumulation=args.accumulation, lr=args.lr,
                     workers=args.workers, crop_size=args.crop_size, warmup_steps=args.warmup_steps,
                     eval_every=args.eval_every, log_every=args.log_every,
                     checkpoint_every=args.checkpoint_every, eval_max_images=args.eval_max_images, seed=args.seed,
                     augment=args.augment, crop_scales=args.crop_scales,
                     border_bands=args.border_bands, mosaic=args.mosaic,
                     occlusion=args.occlusion, degrade=args.degrade, allowed_border=args.allowed_border,
                     box_normaliser=args.box_normaliser)
    config = recipe_for(args.model, **overrides)
    out = Path(args.out)
    try:
        samples, described = _samples(args)
        if not samples:
            raise UserError("no training samples")
        evaluator = _evaluator(args, out)
        # ssh_vgg16: the paper's test scale; ssh_lite: the frame's own size (it is trained on 0.7-2.3x crops)
        inference = InferenceConfig() if args.model == "ssh_vgg16" else InferenceConfig(short_side=None, max_side=None)
        final = train(config, samples, out, device=args.device, evaluator=evaluator, resume=args.resume,
                      init_from=args.init_from, backbone_weights=args.backbone_weights, data_description=described,
                      inference=inference, progress=progress)
    except (LabelFormatError, ImageReadError, CheckpointError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if final.checkpoint is not None:
        print(f"trained {config.model} for {final.steps} steps: {final.checkpoint}")
    return 0
