"""Generic detection AP at IoU 0.5 for custom label sets (VOC-style, all-point interpolation)."""
from __future__ import annotations

import numpy as np

from training.wider_eval import iou_xywh_inclusive, voc_ap


def average_precision(ground_truth: list[np.ndarray], predictions: list[np.ndarray], iou_threshold: float = 0.5
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """AP over a set of images.

    Args:
        ground_truth: per image (G, 4) xyxy boxes.
        predictions: per image (P, 5) xyxy + score.
    Returns:
        (AP, precision curve, recall curve); each ground truth matches at most one prediction, taken
        in descending score order over the whole set.
    """
    total = sum(len(g) for g in ground_truth)
    records = []  # (score, image, box)
    for i, p in enumerate(predictions):
        for row in np.asarray(p, dtype=np.float64).reshape(-1, 5):
            records.append((row[4], i, row[:4]))
    records.sort(key=lambda r: -r[0])
    used = [np.zeros(len(g), dtype=bool) for g in ground_truth]
    tp = np.zeros(len(records))
    for k, (_, i, box) in enumerate(records):
        gt = np.asarray(ground_truth[i], dtype=np.float64).reshape(-1, 4)
        if not len(gt):
            continue
        to_xywh = lambda b: np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)  # noqa: E731
        iou = iou_xywh_inclusive(to_xywh(box[None]), to_xywh(gt))[0]
        iou[used[i]] = -1
        j = int(iou.argmax())
        if iou[j] >= iou_threshold:
            used[i][j] = True
            tp[k] = 1
    if not records or total == 0:
        return 0.0, np.zeros(0), np.zeros(0)
    tp_cum = np.cumsum(tp)
    precision = tp_cum / np.arange(1, len(records) + 1)
    recall = tp_cum / total
    return voc_ap(recall, precision), precision, recall
