import numpy as np
import pytest
import torch
from conftest import DATA

from training.augment import CropTransform
from training.config import recipe_for
from training.dataset import EpochStream, FaceDataset
from training.images import load_sample_image
from training.readers import read_labels
from training.trainer import make_dataset


@pytest.fixture(scope="module")
def samples():
    return read_labels(f"wider={DATA / 'wider_mini'}")


def test_without_mosaic_an_item_is_the_transform_of_its_sample_with_the_seeded_generator(samples):
    transform = CropTransform(size=96, jitter=False)
    dataset = FaceDataset(samples, transform, seed=5)
    image, boxes = dataset[1]
    expected_image, expected_boxes = transform(load_sample_image(samples[1]), samples[1].boxes,
                                               np.random.default_rng((5, 0, 1)))
    assert torch.equal(image, torch.from_numpy(expected_image))
    np.testing.assert_array_equal(boxes.numpy(), expected_boxes)


def test_mosaic_items_are_reproducible_double_size_squares_with_boxes_inside(samples):
    dataset = FaceDataset(samples, CropTransform(size=96), seed=5, mosaic_probability=1.0,
                          tile_transform=CropTransform(size=48))
    image, boxes = dataset[0]
    assert image.shape == (96, 96, 3) and image.dtype == torch.uint8
    assert len(boxes) and bool((boxes >= 0).all()) and bool((boxes <= 96).all())
    again_image, again_boxes = dataset[0]
    assert torch.equal(image, again_image) and torch.equal(boxes, again_boxes)
    assert torch.equal(dataset.item(0, 0)[0], image)
    assert not torch.equal(dataset.item(0, 1)[0], image)


def test_mosaic_needs_tiles_and_the_crop_recipe(samples):
    with pytest.raises(ValueError, match="tile_transform"):
        FaceDataset(samples, CropTransform(size=96), mosaic_probability=0.5)
    with pytest.raises(ValueError, match="crop augmentation"):
        make_dataset(samples, recipe_for("ssh_vgg16", mosaic=0.5))
    tiles = make_dataset(samples, recipe_for("ssh_lite", mosaic=0.5, crop_size=96)).tile_transform
    assert tiles.size == 48


def test_epoch_stream_runs_epochs_back_to_back_and_resumes_mid_epoch(samples):
    dataset = FaceDataset(samples, CropTransform(size=48), seed=5)
    indices = list(range(len(samples)))
    stream = EpochStream(dataset, indices, seed=5, first=0, length=5 * len(indices))
    positions = [stream.position(i) for i in range(len(stream))]
    for epoch in range(3):
        seen = positions[epoch * len(indices):(epoch + 1) * len(indices)]
        assert {e for e, _ in seen} == {epoch} and sorted(i for _, i in seen) == indices
    orders = {tuple(i for _, i in positions[e * len(indices):(e + 1) * len(indices)]) for e in range(5)}
    assert len(orders) > 1  # each epoch has its own order

    resumed = EpochStream(dataset, indices, seed=5, first=len(indices) + 1, length=4)
    assert [resumed.position(i) for i in range(4)] == positions[len(indices) + 1:len(indices) + 5]
    image, boxes = resumed[0]
    expected_image, expected_boxes = dataset.item(positions[len(indices) + 1][1], 1)
    assert torch.equal(image, expected_image) and torch.equal(boxes, expected_boxes)
    with pytest.raises(IndexError):
        resumed[4]
    with pytest.raises(ValueError, match="at least one"):
        EpochStream(dataset, [], seed=5, first=0, length=1)
