"""Complete a hand-labelled set with a detector's confident faces that nobody labelled.

Sets gathered for another purpose (face-mask classification, crowd counting) often box only the faces
that mattered to them; the rest would teach the detector that faces are background. A stronger detector's
boxes fill those gaps: a detection joins the labels when its score is at least ``min_score`` and it
overlaps no labelled face by more than ``max_iou``. Labelled boxes are never moved or removed.

Detections are read in the WIDER evaluators' text layout, one ``<image stem>.txt`` per image (what
``sshvideo detect`` and the peers' runner write for a flat folder of images)::

    python -m training.complete_labels voc=facemask/annotations --detections yunet_preds/ \\
        --min-score 0.8 --out facemask/completed.json

The output is a COCO JSON next to (or above) the images, readable by ``sshvideo train --data``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import box_iou

from core.atomic import write_text_atomic
from core.errors import LabelFormatError
from training.readers import read_labels
from training.samples import Sample, xywh_to_xyxy
from training.wider_eval import read_prediction_file


def missing_faces(labelled: np.ndarray, detections: np.ndarray, min_score: float, max_iou: float) -> np.ndarray:
    """The detections worth adding to ``labelled``.

    Args:
        labelled: (M, 4) xyxy boxes of the hand labels.
        detections: (P, 5) xyxy + score.
    Returns:
        (K, 4) xyxy boxes: score >= ``min_score``, IoU <= ``max_iou`` (continuous convention, as the
        labels: x2 = x + w) with every labelled box and with every higher-scored added box (so one face is
        never added twice).
    """
    labelled = np.asarray(labelled, np.float64).reshape(-1, 4)
    detections = np.asarray(detections, np.float64).reshape(-1, 5)
    candidates = detections[detections[:, 4] >= min_score]
    candidates = candidates[np.argsort(-candidates[:, 4], kind="stable")]
    kept = labelled
    added = []
    for box in candidates[:, :4]:
        if len(kept) == 0 or box_iou(torch.from_numpy(box[None]), torch.from_numpy(kept)).max() <= max_iou:
            added.append(box)
            kept = np.vstack([kept, box[None]])
    return np.array(added, np.float32).reshape(-1, 4)


def complete_samples(samples: list[Sample], detections_dir: str | Path, min_score: float,
                     max_iou: float) -> tuple[list[Sample], int]:
    """``samples`` with the missing faces of ``detections_dir/<stem>.txt`` added; also the count added.

    Raises LabelFormatError when an image has no detection file or two images share a stem.
    """
    detections_dir = Path(detections_dir)
    stems = [s.source.stem for s in samples]
    if len(set(stems)) != len(stems):
        dup = next(s for s in stems if stems.count(s) > 1)
        raise LabelFormatError(f"two images are named {dup!r}: detection files are matched by file stem")
    completed, total = [], 0
    for sample in samples:
        if sample.frame_index is not None:
            raise LabelFormatError(f"{sample.key}: video labels are not supported here; extract the frames first")
        path = detections_dir / f"{sample.source.stem}.txt"
        if not path.is_file():
            raise LabelFormatError(f"{path}: no detection file for {sample.source}")
        rows = read_prediction_file(path)
        dets = np.hstack([xywh_to_xyxy(rows[:, :4]), rows[:, 4:5]])
        extra = missing_faces(sample.boxes, dets, min_score, max_iou)
        total += len(extra)
        completed.append(Sample(sample.source, np.vstack([sample.boxes, extra])))
    return completed, total


def to_coco(samples: list[Sample], root: Path) -> dict:
    """COCO detection dict with ``file_name`` relative to ``root`` (which must contain every image)."""
    images, annotations = [], []
    for image_id, sample in enumerate(samples, start=1):
        try:
            name = Path(sample.source).resolve().relative_to(root.resolve())
        except ValueError:
            raise LabelFormatError(f"{sample.source}: not under {root}; write the output in a folder "
                                   f"that contains the images") from None
        images.append({"id": image_id, "file_name": name.as_posix()})
        for x1, y1, x2, y2 in sample.boxes.tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "face"}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", help="[FORMAT=]PATH of the hand labels (any format `sshvideo train` reads)")
    parser.add_argument("--detections", required=True, help="folder of <image stem>.txt detection files")
    parser.add_argument("--min-score", type=float, default=0.8, help="add detections scored at least this")
    parser.add_argument("--max-iou", type=float, default=0.3, help="...that overlap no label by more than this")
    parser.add_argument("--out", required=True, help="COCO JSON to write, in a folder containing the images")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        samples = read_labels(args.labels)
        completed, added = complete_samples(samples, args.detections, args.min_score, args.max_iou)
        write_text_atomic(out, json.dumps(to_coco(completed, out.parent)))
    except LabelFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    labelled = sum(len(s.boxes) for s in samples)
    print(f"{out}: {len(samples)} images, {labelled} labelled faces + {added} added from {args.detections}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
