"""How much of a training batch is padding, and how many negatives sit on it, per recipe and module.

    python bench/padding.py [--labels wider=/work/data/wider_train3048] [--batches 30]
                            [--short-side 600] [--max-side 800] [--recipes ssh_vgg16 ssh_lite]

``collate`` pads every image of a batch bottom/right to the batch's largest height and width (rounded up
to 32). Images of mixed orientation (landscape and portrait) therefore leave large padded areas, and any
anchor whose centre lies there is trained on pixels that never occur at test time. For each recipe the
script draws ``--batches`` batches of real images through the recipe's augmentation, assigns every
module's labels exactly as the loss does (``training.loss.level_targets``) and reports:

* padded pixels: share of the batch canvas outside the images' own (H_i, W_i) areas (mean and max);
* negatives in padding: share of the anchors labelled background whose centre lies in the padding;
* sampled: the same among the negatives actually sampled for the loss (random sampling,
  ``ohem=False``: only labels matter here; OHEM's choice would depend on a trained network).

Both with the padding rule of ``training.targets`` switched off ("before": the labels of the code before
the rule existed; checked against that code, same numbers) and on ("after"). The paper recipe (``ssh_vgg16``: PaperTransform, batch 8) runs at a
smaller scale by default (short side 600, long side ≤ 800; the paper's 1200/1600 is 4× slower on a 2-core
CPU). The padded-pixel share hardly depends on the scale, but M3's 512-px border rule already drops the
anchors reaching more than 512 px past the image (centres 256–384 px into the padding), a larger part of
the padding at 1200/1600, so fewer M3 negatives sit there (about 21 % against 28 %). The crop recipe (``ssh_lite``) uses its own 640² crops.
No network is run.
"""
from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

import numpy as np
import torch
from common import markdown_table

from core.anchors import grid_anchors
from core.config import model_config
from training import targets
from training.config import recipe_for
from training.dataset import collate
from training.loss import level_targets
from training.mining import ohem_sample
from training.readers import read_labels
from training.targets import BACKGROUND
from training.trainer import make_dataset

DEFAULT_LABELS = "wider=/work/data/wider_train3048"
FALLBACK_LABELS = "wider=/work/shared/data/wider/train"


def padding_mask(anchors: torch.Tensor, sizes: list[tuple[int, int]]) -> torch.Tensor:
    """(R, 4) anchors, N image sizes (H_i, W_i) -> (N, R) bool: the anchor's centre lies outside image i."""
    cx = (anchors[:, 0] + anchors[:, 2]) / 2
    cy = (anchors[:, 1] + anchors[:, 3]) / 2
    h = torch.tensor([s[0] for s in sizes], dtype=anchors.dtype).unsqueeze(1)
    w = torch.tensor([s[1] for s in sizes], dtype=anchors.dtype).unsqueeze(1)
    return (cx.unsqueeze(0) >= w) | (cy.unsqueeze(0) >= h)


@contextlib.contextmanager
def padding_rule(enabled: bool):
    """The label assignment with ``training.targets``' padding rule on, or off (every centre counts as
    inside: the labels as they were before the rule)."""
    original = getattr(targets, "centres_inside", None)
    if enabled or original is None:
        yield
        return
    targets.centres_inside = lambda anchors, height, width: torch.ones(anchors.shape[0], dtype=torch.bool)
    try:
        yield
    finally:
        targets.centres_inside = original


def batch_counts(batch, levels, allowed_border, generator: torch.Generator) -> dict:
    """Counts of one collated batch: canvas and image pixels; per level, negatives (all, sampled) and
    those of them centred in the padding."""
    images, boxes, sizes = batch
    n, hp, wp = images.shape[:3]
    counts = {"canvas": n * hp * wp, "image": sum(h * w for h, w in sizes)}
    for level in levels:
        feature = (math.ceil(hp / level.stride), math.ceil(wp / level.stride))
        labels, _ = level_targets(level, feature, boxes, sizes, "cpu", allowed_border)
        in_pad = padding_mask(grid_anchors(level.anchor_sizes, level.stride, *feature), sizes)
        sampled = ohem_sample(labels, torch.rand(labels.shape, generator=generator))
        negative, sampled_negative = labels == BACKGROUND, sampled == BACKGROUND
        counts[level.name] = (int(negative.sum()), int((negative & in_pad).sum()),
                              int(sampled_negative.sum()), int((sampled_negative & in_pad).sum()))
    return counts


def measure(recipe: str, samples, batches: int, short_side: int | None, max_side: int | None) -> dict:
    """Shares over ``batches`` batches of the recipe, with the padding rule off and on (the same images,
    augmentations and random sampling scores for both)."""
    config = recipe_for(recipe, short_side=short_side, max_side=max_side)
    levels = model_config(config.model).levels
    dataset = make_dataset(samples, config)
    order = np.random.default_rng(0).permutation(len(samples))
    generators = {rule: torch.Generator().manual_seed(0) for rule in (False, True)}
    pad_shares = []
    totals = {rule: {lv.name: np.zeros(4, np.int64) for lv in levels} for rule in (False, True)}
    for b in range(batches):
        picks = order[b * config.batch_size:(b + 1) * config.batch_size]
        batch = collate([dataset.item(int(i), 0) for i in picks])
        for rule in (False, True):
            with padding_rule(rule):
                counts = batch_counts(batch, levels, config.allowed_border, generators[rule])
            for lv in levels:
                totals[rule][lv.name] += counts[lv.name]
        pad_shares.append(1 - counts["image"] / counts["canvas"])
    shares = {rule: {name: (t[1] / max(t[0], 1), t[3] / max(t[2], 1)) for name, t in per_level.items()}
              for rule, per_level in totals.items()}
    return {"pad_mean": float(np.mean(pad_shares)), "pad_max": float(np.max(pad_shares)), "levels": shares,
            "config": config}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default=None, help=f"training labels (default {DEFAULT_LABELS}, "
                                                       f"else {FALLBACK_LABELS})")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--short-side", type=int, default=600)
    parser.add_argument("--max-side", type=int, default=800)
    parser.add_argument("--recipes", nargs="+", default=["ssh_vgg16", "ssh_lite"], choices=["ssh_vgg16", "ssh_lite"])
    args = parser.parse_args(argv)
    spec = args.labels or (DEFAULT_LABELS if Path(DEFAULT_LABELS.split("=", 1)[1]).exists() else FALLBACK_LABELS)
    samples = read_labels(spec)
    rows = []
    for recipe in args.recipes:
        scale = (args.short_side, args.max_side) if recipe == "ssh_vgg16" else (None, None)
        result = measure(recipe, samples, args.batches, *scale)
        config = result["config"]
        shape = (f"{config.short_side}/{config.max_side}" if config.augment == "paper" else f"{config.crop_size}² crops")
        pad = f"{100 * result['pad_mean']:.1f} (max {100 * result['pad_max']:.1f})"
        for name, (before_neg, before_sampled) in result["levels"][False].items():
            after_neg, after_sampled = result["levels"][True][name]
            rows.append([f"{recipe} ({config.augment}, {shape}, batch {config.batch_size})", pad, name.upper(),
                         f"{100 * before_neg:.1f}", f"{100 * before_sampled:.1f}",
                         f"{100 * after_neg:.1f}", f"{100 * after_sampled:.1f}"])
    print(f"{len(samples)} images from {spec}; {args.batches} batches per recipe; % of negatives whose anchor "
          f"centre lies in the padding (sampled: random 256-anchor sampling, ohem=False)\n")
    print(markdown_table(["recipe", "padded pixels %", "module", "neg. before", "sampled before",
                          "neg. after", "sampled after"], rows))


if __name__ == "__main__":
    main()
