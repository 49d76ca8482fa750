"""A torch Dataset over ``Sample``s and the collate function that pads a batch."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from core.config import Normalization
from training.augment import mosaic
from training.images import load_sample_image
from training.samples import Sample


class FaceDataset(Dataset):
    """Returns ``(image uint8 (H, W, 3) tensor, boxes float32 (M, 4) tensor)`` after ``transform``.

    Randomness comes from a generator seeded by (seed, epoch, index), so runs are reproducible and
    every DataLoader worker and DDP rank draws different augmentations: ``item(index, epoch)``. Plain
    indexing gives epoch 0's; a training run reads epoch after epoch through ``EpochStream``.

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
        self.mosaic_probability = mosaic_probability
        self.tile_transform = tile_transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        return self.item(index, 0)

    def item(self, index: int, epoch: int):
        """Sample ``index`` as augmented in ``epoch``; the same arguments give the same pixels."""
        rng = np.random.default_rng((self.seed, epoch, index))
        if self.mosaic_probability and rng.random() < self.mosaic_probability:
            picks = [index, *rng.integers(0, len(self.samples), 3).tolist()]
            image, boxes = mosaic([self._transformed(i, self.tile_transform, rng) for i in picks])
        else:
            image, boxes = self._transformed(index, self.transform, rng)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(np.asarray(boxes, np.float32))

    def _transformed(self, index: int, transform, rng: np.random.Generator):
        sample = self.samples[index]
        return transform(load_sample_image(sample), sample.boxes, rng)


class EpochStream(Dataset):
    """Epoch after epoch of a ``FaceDataset`` as one sequence, so that one DataLoader, and its workers,
    serves a whole run: no worker restart and no half-empty pipeline at each epoch's end.

    Position ``p`` (counted from the run's first image) is ``indices[order_e[p % n]]`` augmented in epoch
    ``e = p // n``, where ``n = len(indices)`` and ``order_e`` is a permutation seeded by (seed, e). The
    stream holds positions ``first`` to ``first + length - 1``: a resumed run starts where it stopped.
    """

    def __init__(self, dataset: FaceDataset, indices: list[int], seed: int, first: int, length: int):
        if not indices:
            raise ValueError("an epoch stream needs at least one sample")
        self.dataset, self.indices, self.seed = dataset, list(indices), seed
        self.first, self.length = first, length
        self._order: tuple[int, list[int]] | None = None  # the last epoch's permutation, per worker

    def __len__(self) -> int:
        return self.length

    def position(self, i: int) -> tuple[int, int]:
        """(epoch, dataset index) of the stream's ``i``-th item."""
        epoch, offset = divmod(self.first + i, len(self.indices))
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng((self.seed, epoch)).permutation(self.indices).tolist())
        return epoch, self._order[1][offset]

    def __getitem__(self, i: int):
        if not 0 <= i < self.length:
            raise IndexError(i)
        epoch, index = self.position(i)
        return self.dataset.item(index, epoch)


def mean_pixel(norm: Normalization) -> tuple[int, int, int]:
    """The uint8 RGB pixel that ``norm`` maps to (about) 0: ``mean / scale`` per channel, in RGB order.

    This is the ``pixel_offset`` test time subtracts (``core.fold.fold_input_normalization``), rounded half
    up: 127.5 -> 128 for the symmetric [-1, 1] input (normalised 1/255 instead of 0), (124, 116, 104) for
    torchvision's ImageNet mean."""
    offset = [m / norm.scale for m in norm.mean]
    if norm.channel_order == "BGR":
        offset.reverse()
    r, g, b = (min(255, max(0, math.floor(v + 0.5))) for v in offset)
    return r, g, b


def collate(batch, pad_to: int = 32, pad_value: tuple[int, int, int] = (0, 0, 0)):
    """Pad images bottom/right to a common size (multiple of ``pad_to``) with the uint8 RGB ``pad_value``.

    Training passes the model's ``mean_pixel``: test time pads frames of different sizes with zeros after
    subtracting that mean (``core.preprocess.prepare_batch``; only its opt-in ``pad_bottom``/``pad_right``
    rows replicate the edge instead), and the network's own zero padding is the mean too, so the mean is
    the border colour a detector sees. (The default, black, is for callers that know no model.) Anchors
    centred on the padding get no label (``training.targets.centres_inside``).

    Returns:
        images uint8 (N, Hp, Wp, 3), boxes list of (M_i, 4), sizes list of (H_i, W_i).
    """
    if len(pad_value) != 3 or not all(0 <= int(v) <= 255 for v in pad_value):
        raise ValueError(f"pad_value must be three values in 0..255, got {pad_value!r}")
    sizes = [tuple(img.shape[:2]) for img, _ in batch]
    hp = math.ceil(max(h for h, _ in sizes) / pad_to) * pad_to
    wp = math.ceil(max(w for _, w in sizes) / pad_to) * pad_to
    fill = torch.tensor([int(v) for v in pad_value], dtype=torch.uint8)
    images = torch.empty(len(batch), hp, wp, 3, dtype=torch.uint8)
    for i, (img, _) in enumerate(batch):
        h, w = img.shape[:2]
        images[i, :h, :w] = img
        images[i, h:] = fill  # only the padding is filled: at the crop recipe's fixed size, nothing
        images[i, :h, w:] = fill
    return images, [b for _, b in batch], sizes
