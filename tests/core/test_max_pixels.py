"""Issue 20 item 6b: the detector's input size is bounded (InferenceConfig.max_pixels), native size too."""
import numpy as np
import torch

from core import inference, preprocess
from core.inference import Detector, InferenceConfig
from core.preprocess import prepare_batch, resize_scale


def test_default_cap_downscales_a_20000_square_frame_and_leaves_ordinary_sizes_alone():
    cap = InferenceConfig().max_pixels
    assert cap == 4096 * 4096
    scale = resize_scale(20000, 20000, None, None, cap)  # --size native on a 1.1 MB PNG bomb
    assert round(20000 * scale) == 4096
    scale = resize_scale(3000, 40000, None, None, cap)  # a panorama: aspect kept, area within the cap
    assert round(3000 * scale) * round(40000 * scale) <= cap and abs(40000 / 3000 - round(40000 * scale)
                                                                      / round(3000 * scale)) < 0.01
    for h, w, short, long in [(480, 640, None, None), (2160, 3840, None, None), (683, 1024, 1200, 1600),
                              (1080, 1920, None, 1280), (4096, 4096, None, None)]:
        assert resize_scale(h, w, short, long, cap) == resize_scale(h, w, short, long)
    for h, w, limit in [(7, 1000, 50), (999, 1001, 12345), (1, 1, 1), (3, 5, 14)]:
        s = resize_scale(h, w, None, None, limit)
        assert max(1, round(h * s)) * max(1, round(w * s)) <= max(limit, 1)


def test_the_detector_applies_the_cap_in_native_and_pyramid_modes(random_lite_checkpoint, monkeypatch):
    seen = []
    real = inference.prepare_batch

    def spy(frames, *args, **kwargs):
        batch = real(frames, *args, **kwargs)
        seen.append(tuple(batch.sizes[0].tolist()))
        return batch

    monkeypatch.setattr(inference, "prepare_batch", spy)
    frame = np.random.default_rng(0).integers(0, 255, (300, 500, 3), dtype=np.uint8)
    detector = Detector.from_checkpoint(random_lite_checkpoint, device="cpu", backend="torch", short_side=None,
                                        max_side=None, max_pixels=120 * 200)
    [dets] = detector.detect([frame])
    assert seen == [(120, 200)]
    assert (dets.boxes[:, 2] <= 500).all() and (dets.boxes[:, 3] <= 300).all()
    seen.clear()
    pyramid = Detector.from_checkpoint(random_lite_checkpoint, device="cpu", backend="torch", pyramid=True,
                                       max_pixels=60_000)
    pyramid.detect([frame])  # levels 450×750 .. 1440×2400 without the cap
    assert len(seen) == 4 and all(55_000 < h * w <= 60_000 for h, w in seen)


def test_large_frames_are_shrunk_as_uint8_before_the_float_copy(monkeypatch):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)
    frame = np.ascontiguousarray(np.repeat(np.repeat(frame[::4, ::4], 4, 0), 4, 1))  # smooth enough to compare
    offset = torch.zeros(3)
    def scale_for(h, w):
        return 0.25

    reference = prepare_batch([frame], torch.device("cpu"), offset, scale_for, channels_last=False)
    calls = []
    real = preprocess._preshrink
    monkeypatch.setattr(preprocess, "_preshrink", lambda *a: calls.append(a[1:]) or real(*a))
    monkeypatch.setattr(preprocess, "PRESHRINK_PIXELS", 1000)
    for source in (frame, torch.from_numpy(frame), frame[:, ::-1][:, ::-1]):
        shrunk = prepare_batch([source], torch.device("cpu"), offset, scale_for, channels_last=False)
        assert shrunk.images.shape == reference.images.shape == (1, 3, 100, 150)
        assert shrunk.sizes.tolist() == [[100, 150]] and shrunk.scales.tolist() == [0.25]
        assert (shrunk.images - reference.images).abs().mean() < 2.0  # area vs bilinear: same picture
    assert calls == [(100, 150)] * 3
