"""``sshvideo eval``: official WIDER AP from prediction files or a checkpoint; AP@0.5 on custom labels."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core.errors import UserError


def _reference_curves(gt_dir: Path) -> dict | None:
    from training.wider_eval import SETTINGS, read_reference_pr_curve

    folder = gt_dir / "reference_pr" / "SSH"
    if not folder.is_dir():
        return None
    try:
        return {s: read_reference_pr_curve(folder / f"wider_pr_info_SSH_{s}_val.mat") for s in SETTINGS}
    except Exception:  # reference curves are decoration for the plot only
        return None


def run_eval_command(args) -> int:
    from core.errors import LabelFormatError
    from training.pr_plot import plot_curves_png, write_curves_json

    out = Path(args.out or "eval")
    try:
        if args.labels:
            return _custom_ap(args, out)
        if not args.gt:
            raise UserError("--gt DIR (the folder with wider_face_val.mat and wider_{easy,medium,hard}_val.mat) "
                            "is required, or use --labels for a custom set")
        from training.evaluate import format_wider_file, predict_wider_images
        from training.wider_eval import (
            evaluate_wider,
            image_keys_in,
            load_wider_ground_truth,
            read_prediction_dir,
        )

        gt = load_wider_ground_truth(args.gt)
        images = Path(args.images) if args.images else None
        if images is not None and (images / "images").is_dir():
            images = images / "images"
        keys = image_keys_in(images) if images else list(gt)
        if not keys:
            raise UserError(f"{images}: no images found in <event>/ sub-folders")
        if args.weights:
            if images is None:
                raise UserError("--weights needs --images DIR (the WIDER val images to detect)")
            from sshvideo.models import load_detector

            detector = load_detector(args.weights, device=args.device, threshold=None,
                                     size=args.size, pyramid=args.pyramid, backend=args.backend)
            preds = predict_wider_images(detector, images, keys)
            for key, rows in preds.items():
                path = out / "predictions" / f"{key}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(format_wider_file(key.split("/")[-1], rows))
        else:
            preds = read_prediction_dir(args.pred, keys)
            if not preds:
                print(f"warning: no prediction files for these images under {args.pred}", file=sys.stderr)
        result = evaluate_wider(preds, gt, keys)
    except (LabelFormatError, FileNotFoundError, KeyError) as exc:
        raise UserError(str(exc).strip('"')) from None
    out.mkdir(parents=True, exist_ok=True)
    print(f"WIDER FACE val, {result.num_images} images "
          f"(faces easy {result.num_faces['easy']}, medium {result.num_faces['medium']}, hard {result.num_faces['hard']})")
    print("| easy | medium | hard |\n|---|---|---|")
    print("| " + " | ".join(f"{result.ap[s]:.4f}" for s in ("easy", "medium", "hard")) + " |")
    write_curves_json(out / "pr_curves.json", result.curves, result.ap, {"images": result.num_images,
                                                                         "faces": result.num_faces})
    plot_curves_png(out / "pr_curves.png", result.curves, result.ap, _reference_curves(Path(args.gt)),
                    title=f"WIDER FACE val ({result.num_images} images)")
    print(f"PR curves: {out / 'pr_curves.json'}, {out / 'pr_curves.png'}")
    return 0


def _custom_ap(args, out: Path) -> int:
    from training.images import read_image_rgb
    from training.metrics import average_precision
    from training.pr_plot import write_curves_json
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    if not args.weights:
        raise UserError("--labels evaluates a checkpoint: pass --weights CKPT")
    from sshvideo.models import load_detector

    samples = materialize_video_frames(read_labels(args.labels), out / "frames")
    detector = load_detector(args.weights, device=args.device, size=args.size, pyramid=args.pyramid,
                             backend=args.backend)
    gts, preds = [], []
    for s in samples:
        [d] = detector.detect([read_image_rgb(s.source)])
        gts.append(s.boxes)
        preds.append(np.concatenate([d.boxes, d.scores[:, None]], axis=1))
    ap, precision, recall = average_precision(gts, preds)
    out.mkdir(parents=True, exist_ok=True)
    write_curves_json(out / "pr_curves.json", {"all": {"precision": precision.tolist(), "recall": recall.tolist()}},
                      {"all": ap}, {"images": len(samples), "faces": int(sum(len(g) for g in gts))})
    print(f"{len(samples)} images, {sum(len(g) for g in gts)} faces: AP@0.5 = {ap:.4f}")
    return 0
