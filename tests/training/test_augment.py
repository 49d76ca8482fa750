import numpy as np

from training.augment import CropTransform, pad_to_fit, random_square_crop


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
