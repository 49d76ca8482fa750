import numpy as np

from gui.geometry import fit_rect, map_boxes


def test_letterbox_keeps_aspect_and_centres():
    assert fit_rect(1280, 720, 640, 640) == (0.0, 140.0, 640.0, 360.0)
    assert fit_rect(100, 200, 400, 200) == (150.0, 0.0, 100.0, 200.0)
    assert fit_rect(0, 10, 10, 10) == (0.0, 0.0, 0.0, 0.0)


def test_boxes_follow_the_letterbox():
    rect = fit_rect(1280, 720, 640, 640)
    out = map_boxes(np.array([[0, 0, 1280, 720], [640, 360, 700, 400]]), 1280, 720, rect)
    assert out[0].tolist() == [0, 140, 640, 500]
    assert out[1].tolist() == [320, 320, 350, 340]
