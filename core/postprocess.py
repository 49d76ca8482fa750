"""From raw per-level network outputs to final detections, batched and on the device.

Reference behaviour (SSH test.py): per module, face probability, decode every anchor, clip to the
resized image, keep the top-k by probability (before any threshold); concatenate modules, divide by
the resize factor, keep scores > threshold, one NMS. No per-box Python loop anywhere.
"""
from __future__ import annotations

import torch
from torchvision.ops import batched_nms

from core.anchors import anchor_grid
from core.box_coding import decode
from core.boxes import box_iou_inclusive
from core.config import LevelSpec
from core.model import LevelOutput


def face_probabilities(cls_logits: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """(N, 2A, H, W) logits -> (N, H·W·A) face probabilities (2-way softmax = sigmoid of fg - bg)."""
    n = cls_logits.shape[0]
    logits = cls_logits.float()
    prob = torch.sigmoid(logits[:, num_anchors:] - logits[:, :num_anchors])  # (N, A, H, W)
    return prob.permute(0, 2, 3, 1).reshape(n, -1)


def level_top_k(output: LevelOutput, level: LevelSpec, top_k: int, score_threshold: float = 0.0
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top-k anchors of one detection module for every image of a batch, not yet decoded.

    Taking the top-k and then thresholding (the reference order) keeps the same boxes as
    thresholding first and then taking the top-k, so k never exceeds the largest number of anchors
    above ``score_threshold`` in one image (a large saving for a trained model); in the other images
    the places left over hold lower scores, dropped by the threshold later.

    Args:
        output: (cls_logits (N, 2A, H, W), bbox_deltas (N, 4A, H, W)).
    Returns:
        scores (N, k) face probabilities sorted descending, index (N, k) flat anchor indices
        (y·W + x)·A + a, deltas (N, k, 4) float32 of those anchors.
    """
    cls_logits, bbox_deltas = output
    face_prob = face_probabilities(cls_logits, level.num_anchors)  # (N, R)
    above = int((face_prob > score_threshold).sum(dim=1).max())
    scores, index = face_prob.topk(min(top_k, above), dim=1)
    # Only the k chosen anchors' deltas are read: a full (N, R, 4) copy of the map cost more than these.
    n, _, h, w = bbox_deltas.shape
    cell, anchor = index.div(level.num_anchors, rounding_mode="floor"), index.remainder(level.num_anchors)
    image = torch.arange(n, device=index.device).unsqueeze(1)
    deltas = bbox_deltas.reshape(n, level.num_anchors, 4, h * w)[image, anchor, :, cell]  # (N, k, 4)
    return scores, index, deltas.float()


def candidates(outputs: list[LevelOutput], levels: list[LevelSpec], top_k: int, sizes: torch.Tensor,
               scales: torch.Tensor, score_threshold: float = 0.0, drop_outside: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoded top-k boxes of every detection module for every image of a batch (the reference's
    per-module top-k, then the modules concatenated).

    The picks of all modules are decoded, clipped and rescaled together, in one set of tensor
    operations: on a CPU each small operation costs more in dispatch than in arithmetic.

    Args:
        outputs: per module, (cls_logits (N, 2A, H, W), bbox_deltas (N, 4A, H, W)); ``levels`` in order.
        sizes: (N, 2) resized (height, width) of each image, for clipping.
        scales: (N,) resize factor of each image.
        drop_outside: score -1 for boxes centred right of or below the image (in padding added there).
    Returns:
        boxes (N, M, 4) xyxy in original-image pixels, scores (N, M) face probabilities; M ≤ the sum
        over modules of min(top_k, H·W·A), each module's block sorted descending.
    """
    scores, anchors, deltas = [], [], []
    for output, level in zip(outputs, levels):
        level_scores, index, level_deltas = level_top_k(output, level, top_k, score_threshold)
        height, width = output[0].shape[2:]
        scores.append(level_scores)
        anchors.append(anchor_grid(level.anchor_sizes, level.stride, height, width, output[0].device)[index])
        deltas.append(level_deltas)
    scores = torch.cat(scores, dim=1)
    boxes = decode(torch.cat(anchors, dim=1), torch.cat(deltas, dim=1))  # (N, M, 4) in resized pixels
    upper = (sizes.flip(1).to(boxes.dtype) - 1).repeat(1, 2).unsqueeze(1)  # (N, 1, 4): w-1, h-1, w-1, h-1
    if drop_outside:
        centres = (boxes[..., :2] + boxes[..., 2:]) / 2
        scores = scores.masked_fill((centres > upper[..., :2]).any(dim=-1), -1.0)
    boxes = torch.minimum(boxes.clamp(min=0), upper)
    return boxes / scales.view(-1, 1, 1), scores


def select_detections(boxes: torch.Tensor, scores: torch.Tensor, score_threshold: float,
                      nms_threshold: float, vote_threshold: float | None = None
                      ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Threshold and NMS every image of a batch at once, optionally with box voting.

    Args:
        boxes: (N, M, 4) candidates in original pixels; scores: (N, M).
        vote_threshold: if set, each kept box becomes the score-weighted mean of the candidates of its
            image that overlap it with IoU ≥ this (itself included); its score is unchanged. Averaging
            the many near-duplicate anchors a face fires steadies the box (Gidaris & Komodakis 2015).
    Returns:
        per image (boxes (K, 4), scores (K,)) sorted by score, on the input device. IoU uses the
        original "+1" areas (boxes are widened by one pixel before torchvision's operators).
    """
    n, m = scores.shape
    keep_mask = scores > score_threshold
    image_ids = torch.arange(n, device=scores.device).unsqueeze(1).expand(n, m)[keep_mask]
    flat_boxes, flat_scores = boxes[keep_mask], scores[keep_mask]
    widened = flat_boxes + flat_boxes.new_tensor([0.0, 0.0, 1.0, 1.0])
    keep = batched_nms(widened, flat_scores, image_ids, nms_threshold)  # score-descending
    kept_ids = image_ids[keep]
    order = keep[torch.sort(kept_ids, stable=True).indices]  # grouped by image, score order inside
    counts = torch.bincount(kept_ids, minlength=n).tolist()
    kept_boxes = flat_boxes[order]
    if vote_threshold is not None and len(order):
        overlap = box_iou_inclusive(flat_boxes[order], flat_boxes) >= vote_threshold  # (K, M')
        overlap &= image_ids[order].unsqueeze(1) == image_ids.unsqueeze(0)  # never across images
        weights = overlap * flat_scores.unsqueeze(0)
        kept_boxes = (weights @ flat_boxes) / weights.sum(1, keepdim=True)
    return list(zip(kept_boxes.split(counts), flat_scores[order].split(counts)))
