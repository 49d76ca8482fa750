import numpy as np

from core.inference import Detections
from sshvideo.colors import score_color
from sshvideo.render import RenderSettings, draw_boxes, render


def dets(box, score):
    return Detections(np.array([box], np.float32), np.array([score], np.float32))


def test_score_colour_map():
    assert score_color(1.0) == (0, 255, 0)
    assert score_color(0.5) == (0, 0, 255)
    assert score_color(0.2) == (0, 0, 255)
    assert score_color(0.75) == (0, 128, 128)


def test_boxes_are_drawn_in_their_score_colour():
    frame = np.full((100, 100, 3), 128, np.uint8)
    out = draw_boxes(frame, dets([20, 20, 60, 60], 1.0), thickness=2)
    assert tuple(out[40, 20]) == (0, 255, 0) and tuple(out[40, 40]) == (128, 128, 128)
    out = draw_boxes(frame, dets([20, 20, 60, 60], 0.5), thickness=2)
    assert tuple(out[20, 40]) == (0, 0, 255)
    assert tuple(frame[40, 20]) == (128, 128, 128)  # input untouched


def test_anonymising_modes_change_only_the_face():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (120, 120, 3), dtype=np.uint8)
    d = dets([40, 40, 80, 80], 0.9)
    solid = render(frame, d, "solid", RenderSettings(mask_scale=1.0))
    assert solid[60, 60].tolist() == [0, 0, 0] and np.array_equal(solid[:30], frame[:30])
    for mode in ("blur", "mosaic"):
        out = render(frame, d, mode, RenderSettings(mask_scale=1.0))
        inside = out[50:70, 50:70].astype(int)
        assert np.abs(np.diff(inside, axis=1)).mean() < np.abs(np.diff(frame[50:70, 50:70].astype(int), axis=1)).mean() / 2
        assert np.array_equal(out[:30], frame[:30])
    assert render(frame, d, "none") is frame
