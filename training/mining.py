"""Online hard example mining per module (reference 3.2), as a pure index-selecting function."""
from __future__ import annotations

import torch

from training.targets import BACKGROUND, FACE, IGNORE


def _rank(keys: torch.Tensor) -> torch.Tensor:
    """Rank of every entry along dim 1 (0 = smallest key)."""
    order = keys.argsort(dim=1)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(keys.shape[1], device=keys.device).expand_as(order))
    return ranks


def ohem_sample(labels: torch.Tensor, face_prob: torch.Tensor, batch_size: int = 256,
                fg_fraction: float = 0.25) -> torch.Tensor:
    """Choose the anchors that contribute to the loss, per image.

    Positives: if an image has more than ``batch_size · fg_fraction`` (64), keep the 64 with the
    lowest face probability, otherwise keep all. Negatives fill the rest (256 − kept positives) with
    the highest face probabilities; with fewer negatives than that, all are kept (the sample is then
    smaller than 256). Scores must be detached; nothing here is differentiable.

    Args:
        labels: (N, R) int64 in {-1, 0, 1}.
        face_prob: (N, R) face probabilities.
    Returns:
        (N, R) labels with every anchor that was not sampled set to -1.
    """
    max_fg = int(batch_size * fg_fraction)
    positive, negative = labels == FACE, labels == BACKGROUND
    inf = torch.tensor(float("inf"), device=face_prob.device, dtype=face_prob.dtype)
    keep_pos = positive & (_rank(torch.where(positive, face_prob, inf)) < max_fg)
    num_bg = batch_size - keep_pos.sum(dim=1, keepdim=True)
    keep_neg = negative & (_rank(torch.where(negative, -face_prob, inf)) < num_bg)
    sampled = torch.full_like(labels, IGNORE)
    sampled[keep_pos] = FACE
    sampled[keep_neg] = BACKGROUND
    return sampled
