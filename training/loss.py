"""The SSH multi-task loss (reference 3.4), per module, returned as a named dict.

Per module and image: softmax cross-entropy averaged over the sampled anchors, plus smooth-L1
(σ = 3) over the 4 deltas of sampled positives divided by the number of sampled anchors (the code's
normaliser, ``box_normaliser="sampled"``) or by the number of sampled positives (the paper's
eq. 1, N_k^r, ``"positives"``). With up to 64 positives among 256 sampled anchors the code's choice
weighs the box term 4–256× less than the paper's. Images are averaged; modules are summed with weight 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.anchors import grid_anchors
from core.config import LevelSpec
from core.model import LevelOutput, flatten_cls, flatten_deltas
from training.mining import ohem_sample
from training.targets import FACE, IGNORE, assign_targets

SMOOTH_L1_SIGMA = 3.0
# ``box_normaliser`` -> each image's divisor of its box term, from the per-image count of sampled anchors
# (N,) and the positive-anchor mask (N, R, 1).
BOX_NORMALISERS = {
    "sampled": lambda sampled_count, positive: sampled_count,  # the reference code
    "positives": lambda sampled_count, positive: positive.sum(dim=(1, 2)).clamp(min=1).float(),  # eq. 1
}


def smooth_l1(x: torch.Tensor, sigma: float = SMOOTH_L1_SIGMA) -> torch.Tensor:
    """Caffe's smooth-L1: 0.5·(σx)² if |x| < 1/σ², else |x| − 0.5/σ² (elementwise)."""
    sigma2 = sigma * sigma
    ax = x.abs()
    return torch.where(ax < 1.0 / sigma2, 0.5 * sigma2 * x * x, ax - 0.5 / sigma2)


def level_targets(level: LevelSpec, feature_size: tuple[int, int], faces: list[torch.Tensor],
                  image_sizes: list[tuple[int, int]], device, allowed_border: int | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (N, R) and deltas (N, R, 4) of one module for a batch (one assignment per image);
    ``allowed_border`` replaces the module's own (``level.allowed_border``) when given."""
    anchors = grid_anchors(level.anchor_sizes, level.stride, *feature_size, device=device)
    border = level.allowed_border if allowed_border is None else allowed_border
    per_image = [assign_targets(anchors, f.to(device), h, w, border)
                 for f, (h, w) in zip(faces, image_sizes)]
    return torch.stack([lab for lab, _ in per_image]), torch.stack([d for _, d in per_image])


def ssh_loss(outputs: list[LevelOutput], levels: tuple[LevelSpec, ...], faces: list[torch.Tensor],
             image_sizes: list[tuple[int, int]], *, ohem: bool = True, batch_size: int = 256,
             fg_fraction: float = 0.25, allowed_border: int | None = None,
             box_normaliser: str = "sampled") -> dict[str, torch.Tensor]:
    """Loss terms ``{"cls_m1", "reg_m1", ...}`` for a batch.

    Args:
        outputs: network outputs per level, (N, 2A, H, W) and (N, 4A, H, W).
        faces: per image (M_i, 4) xyxy boxes in input pixels.
        image_sizes: per image (height, width) of the real image area (for the border rule).
        ohem: hard mining (reference); False samples randomly with the same 64/256 budget.
        allowed_border: anchors reaching further outside the image are ignored; None = each module's own
            (reference: M1/M2 0, M3 512). The reference's 0 leaves M1/M2 anchors that cross the image edge
            untrained, yet inference scores them: a model trained on small crops then fires on frame edges.
        box_normaliser: what divides each image's box term: "sampled" anchors (reference code) or
            "positives" (paper eq. 1; an image without positives contributes 0).
    """
    if box_normaliser not in BOX_NORMALISERS:
        raise ValueError(f"box_normaliser must be one of {', '.join(BOX_NORMALISERS)}, got {box_normaliser!r}")
    losses = {}
    for (cls_out, box_out), level in zip(outputs, levels):
        n, _, h, w = cls_out.shape
        labels, target_deltas = level_targets(level, (h, w), faces, image_sizes, cls_out.device, allowed_border)
        logits = flatten_cls(cls_out, level.num_anchors).float()  # (N, R, 2)
        deltas = flatten_deltas(box_out, level.num_anchors).float()  # (N, R, 4)
        if ohem:
            score = torch.softmax(logits.detach(), dim=-1)[..., 1]
        else:
            score = torch.rand(labels.shape, device=labels.device)  # random ranking = random sampling
        sampled = ohem_sample(labels, score, batch_size, fg_fraction)
        valid = sampled != IGNORE
        count = valid.sum(dim=1).clamp(min=1).float()  # (N,)
        ce = F.cross_entropy(logits.reshape(-1, 2), sampled.clamp(min=0).reshape(-1), reduction="none")
        ce = (ce.view(n, -1) * valid).sum(dim=1) / count
        positive = (sampled == FACE).unsqueeze(-1)
        box_count = BOX_NORMALISERS[box_normaliser](count, positive)
        reg = (smooth_l1(deltas - target_deltas) * positive).sum(dim=(1, 2)) / box_count
        losses[f"cls_{level.name}"] = ce.mean()
        losses[f"reg_{level.name}"] = reg.mean()
    return losses
