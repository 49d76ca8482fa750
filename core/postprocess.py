"""From raw per-level network outputs to final detections, batched and on the device.

Reference behaviour (SSH test.py): per module, face probability, decode every anchor, clip to the
resized image, keep the top-k by probability (before any threshold); concatenate modules, divide by
the resize factor, keep scores > threshold, one NMS. No per-box Python loop anywhere.
"""
from __future__ import annotations

import torch
from torchvision.ops import batched_nms, box_iou

from core.anchors import anchors_at
from core.box_coding import decode
from core.config import LevelSpec
from core.model import LevelOutput


def face_probabilities(cls_logits: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """(N, 2A, H, W) logits -> (N, H·W·A) face probabilities (2-way softmax = sigmoid of fg - bg)."""
    n = cls_logits.shape[0]
    logits = cls_logits.float()
    prob = torch.sigmoid(logits[:, num_anchors:] - logits[:, :num_anchors])  # (N, A, H, W)
    return prob.permute(0, 2, 3, 1).reshape(n, -1)


def level_candidates(output: LevelOutput, level: LevelSpec, top_k: int, sizes: torch.Tensor,
                     scales: torch.Tensor, score_threshold: float = 0.0,
                     drop_outside: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k decoded boxes of one detection module for every image of a batch.

    Taking the top-k and then thresholding (the reference order) keeps the same boxes as
    thresholding first and then taking the top-k, so anchors at or below ``score_threshold`` are
    dropped before decoding (a large saving for a trained model). Their score is set to -1.

    Args:
        output: (cls_logits (N, 2A, H, W), bbox_deltas (N, 4A, H, W)).
        sizes: (N, 2) resized (height, width) of each image, for clipping.
        scales: (N,) resize factor of each image.
        drop_outside: score -1 for boxes centred right of or below the image (in padding added there).
    Returns:
        boxes (N, k, 4) xyxy in original-image pixels, scores (N, k) face probabilities, sorted
        descending per image; k ≤ min(top_k, H·W·A).
    """
    cls_logits, bbox_deltas = output
    n, _, h, w = cls_logits.shape
    face_prob = face_probabilities(cls_logits, level.num_anchors)  # (N, R)
    above = int((face_prob > score_threshold).sum(dim=1).max())
    scores, index = face_prob.topk(min(top_k, above), dim=1)
    # Only the k chosen anchors are built and only their deltas read (not the whole maps).
    cell, anchor = index.div(level.num_anchors, rounding_mode="floor"), index.remainder(level.num_anchors)
    image = torch.arange(n, device=index.device).unsqueeze(1)
    deltas = bbox_deltas.view(n, level.num_anchors, 4, h, w)[image, anchor, :, cell // w, cell % w]  # (N, k, 4)
    boxes = decode(anchors_at(level.anchor_sizes, level.stride, w, index), deltas.float())
    upper = (sizes.flip(1).float() - 1).repeat(1, 2).unsqueeze(1)  # (N, 1, 4): w-1, h-1, w-1, h-1
    if drop_outside:
        centres = (boxes[..., :2] + boxes[..., 2:]) / 2
        scores = scores.masked_fill((centres > upper[..., :2]).any(dim=-1), -1.0)
    boxes = torch.minimum(boxes.clamp(min=0), upper)
    return boxes / scales.view(n, 1, 1), scores


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
        overlap = box_iou(widened[order], widened) >= vote_threshold  # (K, M')
        overlap &= image_ids[order].unsqueeze(1) == image_ids.unsqueeze(0)  # never across images
        weights = overlap * flat_scores.unsqueeze(0)
        kept_boxes = (weights @ flat_boxes) / weights.sum(1, keepdim=True)
    return list(zip(kept_boxes.split(counts), flat_scores[order].split(counts)))
