import numpy as np
import pytest

from training.augment import (
    CropTransform,
    mosaic,
    pad_to_fit,
    random_border_bands,
    random_square_crop,
)


def _marked_image(h=300, w=500):
    """Grey image with one white 'face' rectangle; returns the image and its xyxy box."""
    image = np.full((h, w, 3), 128, np.uint8)
    image[100:160, 200:250] = 255
    return image, np.array([[200, 100, 250, 160]], np.float32)


def _pixels_under(image, box):
    x1, y1, x2, y2 = np.round(box).astype(int)
    return image[y1:y2, x1:x2]


def test_crops_keep_boxes_on_their_pixels():
    image, boxes = _marked_image()
    rng = np.random.default_rng(0)
    for _ in range(30):
        crop, kept = random_square_crop(image, boxes, rng, scales=(0.3, 0.6, 1.0))
        assert crop.shape[0] == crop.shape[1] <= 300
        assert len(kept) == 1  # retries until the face's centre is inside
        inner = _pixels_under(crop, kept[0])
        assert inner.size and (inner == 255).all()
        assert (crop == 0).sum() == 0  # no zoom-out, no black canvas


def test_zoom_out_places_the_image_on_black_and_shifts_the_boxes():
    image, boxes = _marked_image()
    rng = np.random.default_rng(1)
    black_seen = False
    for _ in range(30):
        crop, kept = random_square_crop(image, boxes, rng, scales=(1.5,))
        assert crop.shape[:2] == (450, 450)  # 1.5 × the short side, larger than the image's height
        assert len(kept) == 1
        assert (_pixels_under(crop, kept[0]) == 255).all()
        black_seen |= bool((crop == 0).all(axis=2).any())
    assert black_seen


def test_pad_to_fit_is_a_no_op_when_the_square_fits_and_exact_otherwise():
    image, boxes = _marked_image()
    rng = np.random.default_rng(2)
    same, same_boxes = pad_to_fit(image, boxes, 300, rng)
    assert same is image and same_boxes is boxes
    canvas, shifted = pad_to_fit(image, boxes, 400, rng)
    assert canvas.shape == (400, 500, 3)
    oy = int(shifted[0, 1] - boxes[0, 1])
    assert shifted[0, 0] == boxes[0, 0] and 0 <= oy <= 100
    assert (canvas[oy:oy + 300] == image).all() and canvas.sum() == image.astype(np.int64).sum()


def test_crop_transform_resizes_to_its_size_with_boxes_scaled():
    image, boxes = _marked_image()
    out, kept = CropTransform(size=128, scales=(1.0, 1.3), jitter=False)(image, boxes, np.random.default_rng(3))
    assert out.shape == (128, 128, 3)
    assert len(kept) == 1 and (kept >= 0).all() and (kept <= 128).all()


def test_border_bands_keep_the_side_shrink_the_content_and_leave_faces_out_of_the_bands():
    image = np.full((200, 200, 3), 128, np.uint8)
    image[40:100, 120:170] = 255
    boxes = np.array([[120, 40, 170, 100]], np.float32)
    rng = np.random.default_rng(4)
    fills = set()
    for _ in range(40):
        out, moved = random_border_bands(image, boxes, rng)
        assert out.shape == image.shape and len(moved) == 1
        assert (_pixels_under(out, moved[0] + np.array([1, 1, -1, -1])) == 255).all()  # the face moved with its box
        inner = round(200 * (moved[0, 2] - moved[0, 0]) / 50)  # the box tells the content's scale and place
        left, top = round(moved[0, 0] - 120 * inner / 200), round(moved[0, 1] - 40 * inner / 200)
        band = 200 - inner
        assert 3 <= band <= 40 and 0 <= left <= band and 0 <= top <= band
        assert (out[top + 1:top + inner - 1, left + 1:left + inner - 1] == 128).all(axis=2).mean() > 0.9
        outside = np.ones((200, 200), bool)
        outside[top:top + inner, left:left + inner] = False
        band_pixels = out[outside]
        fills.add("replicated" if (band_pixels == 128).all() else "black" if (band_pixels == 0).all() else "colour")
        assert len(np.unique(band_pixels, axis=0)) <= 2  # a flat colour, or grey (and white) edges repeated
    assert fills == {"replicated", "black", "colour"}


def test_crop_transform_applies_border_bands_when_asked():
    image, boxes = _marked_image()
    rng = np.random.default_rng(5)
    never = CropTransform(size=96, scales=(1.0,), jitter=False)
    always = CropTransform(size=96, scales=(1.0,), jitter=False, border_bands=1.0)
    face_width = 50 * 96 / 300  # the whole short side is the crop, resized to 96
    for _ in range(10):
        [plain] = never(image, boxes, rng)[1]
        [banded] = always(image, boxes, rng)[1]
        assert np.isclose(plain[2] - plain[0], face_width)
        assert banded[2] - banded[0] < face_width  # the content shrank to make room for the bands


def _tile(value, side=40, box=(5, 6, 15, 20)):
    return np.full((side, side, 3), value, np.uint8), np.array([box], np.float32)


def test_mosaic_tiles_in_reading_order_and_moves_each_box_with_its_tile():
    tiles = [_tile(10), _tile(20), _tile(30, box=(0, 0, 40, 40)), (np.full((40, 40, 3), 40, np.uint8),
                                                                  np.zeros((0, 4), np.float32))]
    image, boxes = mosaic(tiles)
    assert image.shape == (80, 80, 3) and image.dtype == np.uint8
    assert [image[0, 0, 0], image[0, 79, 0], image[79, 0, 0], image[79, 79, 0]] == [10, 20, 30, 40]
    np.testing.assert_array_equal(boxes, [[5, 6, 15, 20], [45, 6, 55, 20], [0, 40, 40, 80]])
    for box, value in zip(boxes, (10, 20, 30)):
        assert (_pixels_under(image, box) == value).all()


def test_mosaic_refuses_other_than_four_equal_squares():
    with pytest.raises(ValueError, match="4 tiles"):
        mosaic([_tile(0)] * 3)
    with pytest.raises(ValueError, match="40×40"):
        mosaic([_tile(0), _tile(0), _tile(0), _tile(0, side=32)])


def _jitter_by_float_arithmetic(image, rng, brightness=32, contrast=(0.6, 1.4), saturation=(0.6, 1.4), hue=12):
    """The photometric jitter as whole-image float32 arithmetic (how it was first written)."""
    import cv2

    out = image.astype(np.float32)
    if rng.random() < 0.5:
        out += rng.uniform(-brightness, brightness)
    if rng.random() < 0.5:
        out *= rng.uniform(*contrast)
    out = out.clip(0, 255)
    if rng.random() < 0.5 or rng.random() < 0.5:
        hsv = cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 1] *= rng.uniform(*saturation)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-hue, hue)) % 180
        out = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    return out.clip(0, 255).astype(np.uint8)


def test_photometric_jitter_by_lookup_tables_gives_the_pixels_of_the_float_arithmetic():
    from training.augment import photometric_jitter

    changed = 0
    for seed in range(60):
        image = np.random.default_rng(seed).integers(0, 256, (23 + seed, 41, 3), dtype=np.uint8)
        expected = _jitter_by_float_arithmetic(image, np.random.default_rng(seed))
        got = photometric_jitter(image, np.random.default_rng(seed))
        assert got.dtype == np.uint8 and np.array_equal(got, expected), f"seed {seed}"
        changed += not np.array_equal(got, image)
    assert changed > 40  # the draws did jitter most images
