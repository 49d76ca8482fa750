"""``sshvideo eval``: the official WIDER FACE AP from prediction files or a checkpoint, or AP@0.5 of a
checkpoint on a custom labelled set."""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from sshvideo.commands import exit_codes
from sshvideo.commands.common import DetectorOptions, add_device_arguments
from training.arg_types import detection_size

log = logging.getLogger(__name__)

HELP = "WIDER FACE easy/medium/hard AP, or AP@0.5 on a custom set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pred", metavar="DIR", type=Path, help="WIDER prediction files (<event>/<image>.txt)")
    source.add_argument("--weights", metavar="CKPT", type=Path, help="detect with this checkpoint first")
    parser.add_argument("--gt", metavar="DIR", type=Path,
                        help="folder with wider_face_val.mat and wider_{easy,medium,hard}_val.mat")
    parser.add_argument("--images", metavar="DIR", type=Path,
                        help="restrict to the images in DIR/<event>/ (and detect them with --weights)")
    parser.add_argument("--labels", metavar="[FORMAT=]PATH", help="custom set: AP@0.5 against these labels")
    parser.add_argument("--out", "-o", type=Path, default=Path("eval"),
                        help="write pr_curves.json and pr_curves.png here (default: ./eval)")
    parser.add_argument("--size", metavar="SHORT:MAX", type=detection_size, help="with --weights: detection size")
    parser.add_argument("--pyramid", action="store_true", help="with --weights: the paper's pyramid")
    add_device_arguments(parser)


@dataclass(frozen=True)
class Options:
    out: Path
    pred: Path | None = None
    detector: DetectorOptions | None = None  # with --weights
    gt: Path | None = None
    images: Path | None = None
    labels: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        detector = None
        if args.weights is not None:
            detector = DetectorOptions(weights=args.weights, device=args.device, backend=args.backend,
                                       size=args.size, pyramid=args.pyramid)
        if args.labels and detector is None:
            raise UserError("--labels evaluates a checkpoint: pass --weights CKPT")
        if not args.labels and args.gt is None:
            raise UserError("--gt DIR (the folder with wider_face_val.mat and wider_{easy,medium,hard}_val.mat) "
                            "is required, or use --labels for a custom set")
        if not args.labels and detector is not None and args.images is None:
            raise UserError("--weights needs --images DIR (the WIDER val images to detect)")
        return cls(args.out, args.pred, detector, args.gt, args.images, args.labels)


def run(options: Options) -> int:
    return _labelled_set(options) if options.labels else _wider(options)


def _wider(options: Options) -> int:
    from training.evaluate import format_wider_file, predict_wider_images
    from training.pr_plot import plot_curves_png, write_curves_json
    from training.wider_eval import (
        evaluate_wider,
        image_keys_in,
        load_wider_ground_truth,
        read_prediction_dir,
    )

    gt = load_wider_ground_truth(options.gt)
    images = options.images
    if images is not None and (images / "images").is_dir():
        images = images / "images"
    keys = image_keys_in(images) if images else list(gt)
    if not keys:
        raise UserError(f"{images}: no images found in <event>/ sub-folders")
    if options.detector is not None:
        preds = predict_wider_images(options.detector.load(), images, keys)
        for key, rows in preds.items():
            path = options.out / "predictions" / f"{key}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(format_wider_file(key.split("/")[-1], rows))
    else:
        preds = read_prediction_dir(options.pred, keys)
    result = evaluate_wider(preds, gt, keys)
    options.out.mkdir(parents=True, exist_ok=True)
    faces = result.num_faces
    print(f"WIDER FACE val, {result.num_images} images "
          f"(faces easy {faces['easy']}, medium {faces['medium']}, hard {faces['hard']})")
    print("| easy | medium | hard |\n|---|---|---|")
    print("| " + " | ".join(f"{result.ap[s]:.4f}" for s in ("easy", "medium", "hard")) + " |")
    write_curves_json(options.out / "pr_curves.json", result.curves, result.ap,
                      {"images": result.num_images, "faces": faces})
    plot_curves_png(options.out / "pr_curves.png", result.curves, result.ap, _reference_curves(options.gt),
                    title=f"WIDER FACE val ({result.num_images} images)")
    print(f"PR curves: {options.out / 'pr_curves.json'}, {options.out / 'pr_curves.png'}")
    return exit_codes.OK


def _reference_curves(gt_dir: Path) -> dict | None:
    """The original SSH's PR curves when they sit in ``gt_dir/reference_pr/SSH`` (drawn for comparison)."""
    from training.wider_eval import SETTINGS, read_reference_pr_curve

    folder = gt_dir / "reference_pr" / "SSH"
    if not folder.is_dir():
        return None
    try:
        return {s: read_reference_pr_curve(folder / f"wider_pr_info_SSH_{s}_val.mat") for s in SETTINGS}
    except (OSError, KeyError, ValueError, NotImplementedError) as exc:  # MATLAB v7.3 files need h5py
        log.warning("%s: reference curves not drawn (%s)", folder, exc)
        return None


def _labelled_set(options: Options) -> int:
    from training.evaluate import labelled_set_ap
    from training.pr_plot import write_curves_json
    from training.readers import read_labels
    from training.video_frames import materialize_video_frames

    samples = materialize_video_frames(read_labels(options.labels), options.out / "frames")
    ap, precision, recall = labelled_set_ap(options.detector.load(), samples)
    faces = int(sum(len(s.boxes) for s in samples))
    options.out.mkdir(parents=True, exist_ok=True)
    write_curves_json(options.out / "pr_curves.json", {"all": {"precision": precision.tolist(),
                                                               "recall": recall.tolist()}},
                      {"all": ap}, {"images": len(samples), "faces": faces})
    print(f"{len(samples)} images, {faces} faces: AP@0.5 = {ap:.4f}")
    return exit_codes.OK
