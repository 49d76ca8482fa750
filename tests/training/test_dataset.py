import numpy as np
import pytest
import torch
from conftest import DATA

from core.config import MODEL_CONFIGS, Normalization, model_config
from core.preprocess import normalize_hwc
from training.augment import CropTransform
from training.config import recipe_for
from training.dataset import EpochStream, FaceDataset, collate, mean_pixel
from training.images import load_sample_image
from training.readers import read_labels
from training.trainer import RunSetup, make_dataset, prepare_run


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


def test_collate_pads_bottom_right_with_the_given_value_to_a_multiple_of_32():
    tall = torch.randint(0, 256, (70, 40, 3), dtype=torch.uint8)
    wide = torch.randint(0, 256, (30, 90, 3), dtype=torch.uint8)
    boxes = [torch.zeros(0, 4), torch.tensor([[1.0, 2, 3, 4]])]
    images, out_boxes, sizes = collate([(tall, boxes[0]), (wide, boxes[1])], pad_value=(128, 7, 250))
    assert images.shape == (2, 96, 96, 3) and images.dtype == torch.uint8
    assert sizes == [(70, 40), (30, 90)] and out_boxes[1] is boxes[1]
    assert torch.equal(images[0, :70, :40], tall) and torch.equal(images[1, :30, :90], wide)
    for i, (h, w) in enumerate(sizes):
        padding = torch.ones(96, 96, dtype=torch.bool)
        padding[:h, :w] = False
        assert (images[i][padding] == torch.tensor([128, 7, 250], dtype=torch.uint8)).all()
    assert (collate([(tall, boxes[0])])[0][0, 70:] == 0).all()  # the default is black
    with pytest.raises(ValueError, match="pad_value"):
        collate([(tall, boxes[0])], pad_value=(256, 0, 0))


def test_collate_leaves_equal_crops_unpadded():
    crops = [torch.randint(0, 256, (64, 64, 3), dtype=torch.uint8) for _ in range(3)]
    images, _, sizes = collate([(c, torch.zeros(0, 4)) for c in crops], pad_value=(128, 128, 128))
    assert torch.equal(images, torch.stack(crops)) and sizes == [(64, 64)] * 3


@pytest.mark.parametrize("norm", [model_config(name).normalization for name in sorted(MODEL_CONFIGS)]
                         + [Normalization("BGR", 1.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0))],
                         ids=[*sorted(MODEL_CONFIGS), "caffe_bgr"])
def test_the_pad_value_of_each_normalisation_normalises_to_about_zero(norm):
    pixel = torch.tensor(mean_pixel(norm), dtype=torch.uint8).view(1, 1, 3)
    normalised = normalize_hwc(pixel, norm).flatten()
    rounding = 0.5 * norm.scale / min(norm.std)  # half a grey level, normalised
    assert normalised.abs().max() <= rounding + 1e-6
    black = normalize_hwc(torch.zeros(1, 1, 3, dtype=torch.uint8), norm).flatten()
    assert black.abs().min() > 10 * rounding  # what the padding was before


def test_training_batches_are_padded_with_the_models_mean_colour(samples, tmp_path):
    config = recipe_for("ssh_lite", augment="paper", short_side=50, max_side=80, batch_size=2, steps=1,
                        workers=0, allowed_border=None)
    run = prepare_run(config, samples, RunSetup(tmp_path, device="cpu", progress=False))
    images, _, sizes = next(run.batches())
    expected = torch.tensor(mean_pixel(model_config("ssh_lite").normalization), dtype=torch.uint8)
    padded = 0
    for image, (h, w) in zip(images, sizes):
        padding = torch.ones(image.shape[:2], dtype=torch.bool)
        padding[:h, :w] = False
        padded += int(padding.sum())
        assert (image[padding] == expected).all()
    assert padded > 0  # a 50-px short side is padded to 64
