"""Detect-then-evaluate helpers: WIDER prediction rows, the WIDER evaluator used during training."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.inference import Detections, Detector
from training.images import read_image_rgb
from training.metrics import average_precision
from training.samples import Sample
from training.wider_eval import evaluate_wider, image_keys_in, load_wider_ground_truth


def wider_rows(dets: Detections) -> np.ndarray:
    """(N, 5) x, y, w, h, score as the reference writes them: corners truncated to int, w = int(x2) − int(x1)."""
    corners = np.trunc(dets.boxes).astype(np.int64)
    xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1).astype(np.float64)
    return np.concatenate([xywh, dets.scores[:, None].astype(np.float64)], axis=1)


def format_wider_file(stem: str, rows: np.ndarray) -> str:
    lines = [stem, str(len(rows))]
    lines += [f"{int(x)} {int(y)} {int(w)} {int(h)} {s:.6f}" for x, y, w, h, s in rows]
    return "\n".join(lines) + "\n"


def predict_wider_images(detector: Detector, images_dir: str | Path, keys: list[str]) -> dict[str, np.ndarray]:
    """Run the detector on ``images_dir/<key>.jpg`` one image at a time (images differ in size)."""
    images_dir = Path(images_dir)
    preds = {}
    for key in keys:
        path = next(images_dir.glob(f"{key}.*"))
        [dets] = detector.detect([read_image_rgb(path)])
        preds[key] = wider_rows(dets)
    return preds


def make_wider_evaluator(images_dir: str | Path, gt_dir: str | Path, max_images: int = 0):
    """A ``detector -> {"easy", "medium", "hard", "score"}`` callable on a WIDER val folder
    (``images/<event>/*.jpg``); ``score`` is the mean of the three APs. ``max_images`` > 0 takes an
    evenly spaced subset for quick periodic checks."""
    images_dir = Path(images_dir)
    images_dir = images_dir / "images" if (images_dir / "images").is_dir() else images_dir
    gt = load_wider_ground_truth(gt_dir)
    keys = image_keys_in(images_dir)
    if max_images and len(keys) > max_images:
        keys = [keys[i] for i in np.linspace(0, len(keys) - 1, max_images).astype(int)]

    def evaluate(detector: Detector) -> dict:
        result = evaluate_wider(predict_wider_images(detector, images_dir, keys), gt, keys)
        metrics = {k: round(v, 4) for k, v in result.ap.items()}
        metrics["score"] = round(float(np.mean(list(result.ap.values()))), 4)
        return metrics

    return evaluate


def labelled_set_ap(detector: Detector, samples: list[Sample]) -> tuple[float, np.ndarray, np.ndarray]:
    """AP@0.5 of ``detector`` on labelled image samples (any reader's, video frames materialised):
    (AP, precision curve, recall curve) from ``training.metrics.average_precision``."""
    ground_truth, predictions = [], []
    for sample in samples:
        [dets] = detector.detect([read_image_rgb(sample.source)])
        ground_truth.append(sample.boxes)
        predictions.append(np.concatenate([dets.boxes, dets.scores[:, None]], axis=1))
    return average_precision(ground_truth, predictions)


def make_labelled_set_evaluator(samples: list[Sample]):
    """A ``detector -> {"ap50", "score"}`` callable on labelled samples, for periodic validation."""
    def evaluate(detector: Detector) -> dict:
        ap = round(labelled_set_ap(detector, samples)[0], 4)
        return {"ap50": ap, "score": ap}

    return evaluate
