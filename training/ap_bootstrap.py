"""How sure is "A beats B by 0.004 AP"? A paired bootstrap over the images of a WIDER evaluation.

The images are drawn with replacement, the same draw for both detectors (so that how hard an image is
cancels out), and both APs are recomputed from their per-image counts (``training.wider_eval.
per_image_counts``); the differences over many draws give a percentile interval and the share of draws
in which A is higher. Scores keep the min–max normalisation of the full set: a draw's own minimum and
maximum differ from it only slightly, and renormalising would mean matching every image again for every
draw. Image-level resampling treats the images as the random sample they are; it says nothing about
other datasets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.wider_eval import (
    SETTINGS,
    PerImageCounts,
    ap_from_totals,
    result_from_counts,
)


@dataclass(frozen=True)
class ApDifference:
    """AP(A) − AP(B) in one setting: on all images, and its bootstrap percentile interval."""

    setting: str
    observed: float
    low: float
    high: float
    share_a_higher: float  # fraction of draws in which AP(A) > AP(B) (ties count as not higher)


def bootstrap_ap_difference(a: PerImageCounts, b: PerImageCounts, resamples: int = 1000,
                            confidence: float = 0.95, seed: int = 0) -> list[ApDifference]:
    """Paired bootstrap of AP(a) − AP(b) in every setting.

    Args:
        a, b: per-image counts of two detectors on the same images in the same order.
        resamples: number of draws of len(images) images with replacement.
        confidence: coverage of the central percentile interval.
    Raises:
        ValueError: different (or no) images, resamples < 1, or confidence outside (0, 1).
    """
    if a.keys != b.keys:
        raise ValueError("the two detectors were evaluated on different images (or in a different order)")
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError(f"need resamples ≥ 1 and 0 < confidence < 1, got {resamples} and {confidence}")
    n = len(a.keys)
    if n == 0:
        raise ValueError("no images to resample")
    rng = np.random.default_rng(seed)
    # (R, n) how often each image is drawn: summing counts with these weights is one matrix product.
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)])
    tail = (1 - confidence) / 2
    ap_a_all, ap_b_all = result_from_counts(a).ap, result_from_counts(b).ap
    out = []
    for setting in SETTINGS:
        faces = weights @ a.faces[setting]
        ap_a = _resampled_ap(weights, a.counts[setting], faces)
        ap_b = _resampled_ap(weights, b.counts[setting], faces)
        difference = ap_a - ap_b
        observed = ap_a_all[setting] - ap_b_all[setting]
        low, high = np.quantile(difference, [tail, 1 - tail])
        out.append(ApDifference(setting, observed, float(low), float(high), float((difference > 0).mean())))
    return out


def _resampled_ap(weights: np.ndarray, counts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(R,) AP of each draw from (R, n) image weights, (n, T, 2) per-image counts and (R,) face totals."""
    n, thresholds, _ = counts.shape
    totals = (weights @ counts.reshape(n, thresholds * 2)).reshape(len(weights), thresholds, 2)
    return np.array([ap_from_totals(t.astype(np.float64), int(f))[0] for t, f in zip(totals, faces)])
