"""A torch Dataset over ``Sample``s and the collate function that pads a batch."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from training.augment import mosaic
from training.images import load_sample_image
from training.samples import Sample


class FaceDataset(Dataset):
    """Returns ``(image uint8 (H, W, 3) tensor, boxes float32 (M, 4) tensor)`` after ``transform``.

    Randomness comes from a generator seeded by (seed, epoch, index), so runs are reproducible and
    every DataLoader worker and DDP rank draws different augmentations.

    With probability ``mosaic_probability`` an item is instead a 2 × 2 mosaic (``training.augment.mosaic``)
    of this sample and three random others, each through ``tile_transform`` (which must give equal
    squares, e.g. ``CropTransform`` at half the size).
    """

    def __init__(self, samples: list[Sample], transform, seed: int = 0, mosaic_probability: float = 0.0,
                 tile_transform=None):
        if mosaic_probability and tile_transform is None:
            raise ValueError("mosaic needs a tile_transform")
        self.samples = samples
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.mosaic_probability = mosaic_probability
        self.tile_transform = tile_transform

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if self.mosaic_probability and rng.random() < self.mosaic_probability:
            picks = [index, *rng.integers(0, len(self.samples), 3).tolist()]
            image, boxes = mosaic([self._transformed(i, self.tile_transform, rng) for i in picks])
        else:
            image, boxes = self._transformed(index, self.transform, rng)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(np.asarray(boxes, np.float32))


    def _transformed(self, index: int, transform, rng: np.random.Generator):
        sample = self.samples[index]
        return transform(load_sample_image(sample), sample.boxes, rng)


def collate(batch, pad_to: int = 32):
    """Pad images bottom/right to a common size (multiple of ``pad_to``).

    Returns:
        images uint8 (N, Hp, Wp, 3), boxes list of (M_i, 4), sizes list of (H_i, W_i).
    """
    sizes = [tuple(img.shape[:2]) for img, _ in batch]
    hp = math.ceil(max(h for h, _ in sizes) / pad_to) * pad_to
    wp = math.ceil(max(w for _, w in sizes) / pad_to) * pad_to
    images = torch.zeros(len(batch), hp, wp, 3, dtype=torch.uint8)
    for i, (img, _) in enumerate(batch):
        images[i, : img.shape[0], : img.shape[1]] = img
    return images, [b for _, b in batch], sizes
