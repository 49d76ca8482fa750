import subprocess
import sys

import numpy as np
import pytest
import torch

from core import Detector, InferenceConfig, build_ssh, model_config
from core.anchors import grid_anchors
from core.box_coding import decode
from core.fold import fold_batchnorm
from core.inference import choose_backend
from core.model import FlatOutputs, flatten_deltas
from core.postprocess import candidates, face_probabilities, select_detections
from core.preprocess import normalised_canvas, prepare_batch, resize_scale
from core.weights import default_weights


@pytest.fixture(scope="module")
def lite_model():
    torch.manual_seed(0)
    model = build_ssh(model_config("ssh_lite")).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics, so folding is really exercised
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return model


def test_resize_rule_of_the_paper():
    assert resize_scale(683, 1024, 1200, 1600) == 1600 / 1024  # long side binds
    assert resize_scale(600, 800, 1200, 1600) == 2.0  # short side binds: 1200 x 1600
    assert resize_scale(480, 640, None, None) == 1.0
    assert resize_scale(1080, 1920, None, 1280) == 1280 / 1920


def test_folding_batchnorm_keeps_outputs(lite_model):
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        a = FlatOutputs(lite_model)(x)
        b = FlatOutputs(fold_batchnorm(lite_model))(x)
    assert all(torch.allclose(p, q, atol=1e-4) for p, q in zip(a, b))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fold_batchnorm(lite_model).modules())


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_cpu_fast_paths_match_eager_on_several_shapes(lite_model, backend):
    cfg = model_config("ssh_lite")
    fast = Detector(lite_model, cfg, device="cpu", backend=backend)
    eager = Detector(lite_model, cfg, device="cpu", optimize=False)
    assert fast.backend == backend and eager.backend == "torch"
    for shape in [(1, 3, 480, 640), (1, 3, 333, 257), (2, 3, 200, 300)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            a = fast._forward(x)
            b = eager._forward(x)
        for (ca, ba), (cb, bb) in zip(a, b):
            assert torch.allclose(ca, cb, atol=1e-3) and torch.allclose(ba, bb, atol=1e-3)


def test_backend_choice():
    cpu = torch.device("cpu")
    assert choose_backend("auto", cpu) == "onnxruntime"  # the dev extra installs it
    assert choose_backend("auto", cpu, optimize=False) == "torch"
    assert choose_backend("auto", torch.device("cuda")) == "torch"
    assert choose_backend("torch", cpu) == "torch"
    with pytest.raises(ValueError, match="runs on the CPU"):
        choose_backend("onnxruntime", torch.device("cuda"))
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        choose_backend("tensorrt", cpu)


def test_without_onnxruntime_auto_uses_torch_and_an_explicit_request_says_how_to_install(monkeypatch):
    monkeypatch.setattr("core.inference.onnxruntime_available", lambda: False)
    assert choose_backend("auto", torch.device("cpu")) == "torch"
    with pytest.raises(ValueError, match="pip install onnxruntime onnx"):
        choose_backend("onnxruntime", torch.device("cpu"))


def test_a_failing_export_falls_back_to_torch_only_when_chosen_automatically(lite_model, monkeypatch, caplog):
    def broken_export(model):
        raise RuntimeError("exporter mismatch")

    monkeypatch.setattr("core.inference.OnnxRuntimeNetwork", broken_export)
    cfg = model_config("ssh_lite")
    detector = Detector(lite_model, cfg, device="cpu")
    assert detector.backend == "torch" and "exporter mismatch" in caplog.text
    assert len(detector.detect([np.zeros((64, 64, 3), np.uint8)])) == 1
    with pytest.raises(RuntimeError, match="exporter mismatch"):
        Detector(lite_model, cfg, device="cpu", backend="onnxruntime")


def test_detect_returns_sorted_boxes_in_original_pixels(lite_model):
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu",
                   inference=InferenceConfig(short_side=300, max_side=600, score_threshold=0.3))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), rng.integers(0, 255, (500, 377, 3), dtype=np.uint8)]
    results = det.detect(frames)
    assert len(results) == 2
    for frame, r in zip(frames, results):
        assert r.boxes.dtype == np.float32 and r.boxes.shape == (len(r), 4)
        assert np.all(np.diff(r.scores) <= 0) and np.all(r.scores > 0.3)
        h, w = frame.shape[:2]
        assert r.boxes[:, 0::2].max(initial=0) <= w and r.boxes[:, 1::2].max(initial=0) <= h
        assert r.boxes.min(initial=0) >= 0


def test_border_padding_replicates_edges_and_is_left_out_of_the_sizes():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), rng.integers(0, 255, (50, 30, 3), dtype=np.uint8)]
    batch = prepare_batch(frames, torch.device("cpu"), torch.zeros(3), lambda h, w: 1.0, pad_bottom=16, pad_right=8)
    assert batch.sizes.tolist() == [[40, 60], [50, 30]]
    assert tuple(batch.images.shape) == (2, 3, 96, 96)  # (50 + 16, 60 + 8) rounded up to the batch's 32
    first = batch.images[0]
    assert torch.equal(first[:, :40, :60], torch.from_numpy(frames[0]).permute(2, 0, 1).float())
    assert torch.equal(first[:, 40:56, :60], first[:, 39:40, :60].expand(-1, 16, -1))  # bottom: last row repeated
    assert torch.equal(first[:, :56, 60:68], first[:, :56, 59:60].expand(-1, -1, 8))  # right: last column


@pytest.mark.parametrize("size", [(40, 60), (27, 33), (80, 120)])
@pytest.mark.parametrize("pad", [(0, 0), (16, 0), (5, 9)])
@pytest.mark.parametrize("channels_last", [True, False])
def test_normalised_canvas_equals_resize_then_replicate_pad(size, pad, channels_last):
    pixels = torch.from_numpy(np.random.default_rng(3).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    offset = torch.tensor([10.0, 20.0, 30.0])
    reference = (pixels.float() - offset).permute(2, 0, 1).unsqueeze(0)
    if size != (40, 60):
        reference = torch.nn.functional.interpolate(reference, size=size, mode="bilinear", align_corners=False)
    reference = torch.nn.functional.pad(reference, (0, pad[1], 0, pad[0]), mode="replicate")
    canvas = normalised_canvas(pixels, offset, *size, *pad, channels_last=channels_last)
    assert torch.equal(canvas, reference)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    assert canvas.is_contiguous(memory_format=layout)


def test_candidates_equal_decoding_every_anchor_then_indexing_each_modules_top_k():
    levels = model_config("ssh_lite").levels
    torch.manual_seed(4)
    outputs, expected_boxes, expected_scores = [], [], []
    sizes, scales = torch.tensor([[48, 56], [40, 50]]), torch.tensor([1.0, 0.5])
    for level, (h, w) in zip(levels, [(6, 7), (3, 4), (2, 2)]):
        a = level.num_anchors
        cls_logits, deltas = torch.randn(2, 2 * a, h, w), torch.randn(2, 4 * a, h, w) * 0.3
        outputs.append((cls_logits, deltas))
        all_boxes = decode(grid_anchors(level.anchor_sizes, level.stride, h, w), flatten_deltas(deltas, a))
        top, index = face_probabilities(cls_logits, a).topk(min(10, h * w * a), dim=1)
        upper = (sizes.flip(1).float() - 1).repeat(1, 2).unsqueeze(1)
        picked = torch.stack([all_boxes[i, index[i]] for i in range(2)])
        expected_boxes.append(torch.minimum(picked.clamp(min=0), upper) / scales.view(2, 1, 1))
        expected_scores.append(top)
    boxes, scores = candidates(outputs, levels, 10, sizes, scales)
    assert boxes.shape == (2, 10 + 10 + 8, 4)
    assert torch.allclose(boxes, torch.cat(expected_boxes, 1)) and torch.equal(scores, torch.cat(expected_scores, 1))


def test_candidates_stop_at_the_most_anchors_above_the_threshold_in_one_image():
    level = model_config("ssh_lite").levels[0]
    a = level.num_anchors
    cls_logits = torch.cat([torch.full((2, a, 4, 4), 5.0), torch.full((2, a, 4, 4), -5.0)], dim=1)  # background
    cls_logits[0, :a, 0, :3], cls_logits[0, a:, 0, :3] = -5.0, 5.0  # 3 cells × A faces in image 0, none in image 1
    deltas = torch.zeros(2, 4 * a, 4, 4)
    boxes, scores = candidates([(cls_logits, deltas)], [level], 1000, torch.tensor([[32, 32], [32, 32]]),
                               torch.ones(2), score_threshold=0.5)
    assert scores.shape == (2, 3 * a)
    assert bool((scores[0] > 0.5).all()) and bool((scores[1] < 0.5).all())


def test_no_detection_is_centred_in_the_border_padding(lite_model):
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu",
                   inference=InferenceConfig(short_side=None, max_side=None, score_threshold=0.0, pad_bottom=64,
                                             pad_right=32))
    frame = np.random.default_rng(2).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    [r] = det.detect([frame])
    assert len(r) > 0
    centres = (r.boxes[:, :2] + r.boxes[:, 2:]) / 2
    assert (centres[:, 0] < 160).all() and (centres[:, 1] < 120).all()
    assert (r.boxes[:, 3] - r.boxes[:, 1] >= 1).all()  # no box squashed onto the bottom edge by clipping


@pytest.mark.parametrize("level", [0, 128, 255])
def test_embedded_model_does_not_fire_on_the_edges_of_a_flat_frame(level):
    """Trained with untrained edge anchors, an earlier release gave up to 8 boxes above 0.5 along the
    bottom edge of such frames (letterbox bars in video); the embedded model trains them and needs no
    border padding."""
    detector = Detector.from_checkpoint(default_weights(), device="cpu")
    assert detector.inference.pad_bottom == detector.inference.pad_right == 0
    [found] = detector.detect([np.full((480, 640, 3), level, np.uint8)])
    assert (found.scores > 0.5).sum() == 0


def test_batched_forward_equals_single_frames(lite_model):
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu")
    x = torch.randn(3, 3, 120, 160)
    with torch.no_grad():
        batched = det._forward(x)
        for i in range(3):
            single = det._forward(x[i:i + 1])
            for (cb, bb), (cs, bs) in zip(batched, single):
                assert torch.allclose(cb[i:i + 1], cs, atol=1e-4) and torch.allclose(bb[i:i + 1], bs, atol=1e-4)


def test_empty_result_shapes(lite_model):
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu",
                   inference=InferenceConfig(short_side=None, max_side=None, score_threshold=0.999999))
    [r] = det.detect([np.zeros((64, 64, 3), np.uint8)])
    assert r.boxes.shape == (0, 4) and r.scores.shape == (0,)
    assert det.detect([]) == []


def test_bad_frames_are_rejected(lite_model):
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu")
    with pytest.raises(ValueError, match="RGB uint8"):
        det.detect([np.zeros((10, 10), np.uint8)])
    with pytest.raises(ValueError, match="RGB uint8"):
        det.detect([np.zeros((10, 10, 3), np.float32)])


def test_pyramid_mode_runs_four_scales(lite_model):
    calls = []
    det = Detector(lite_model, model_config("ssh_lite"), device="cpu",
                   inference=InferenceConfig(pyramid=True, score_threshold=0.45))
    original = det._candidates

    def spy(frames, scale_for, skip_levels=()):
        calls.append((scale_for(100, 150), skip_levels))
        return original(frames, scale_for, skip_levels)

    det._candidates = spy
    det.detect([np.full((100, 150, 3), 128, np.uint8)])
    base = 8.0  # short side 100 -> 800 (long side 1200 is exactly the cap)
    assert [round(s, 4) for s, _ in calls] == [round(base * k / 800, 4) for k in (500, 800, 1200, 1600)]
    assert [skip for _, skip in calls] == [(), (), (), ("m3",)]


def test_nms_uses_plus_one_iou_and_keeps_images_apart():
    boxes = torch.tensor([[[0.0, 0, 9, 9], [5, 0, 14, 9], [100, 100, 120, 120]],
                          [[0.0, 0, 9, 9], [0, 0, 9, 9], [0, 0, 0, 0]]])
    scores = torch.tensor([[0.9, 0.8, 0.7], [0.6, 0.95, 0.01]])
    # "+1" IoU of the first two boxes is 50/150 = 0.333 > 0.3 -> suppressed (plain IoU would be 45/135 too)
    out = select_detections(boxes, scores, score_threshold=0.05, nms_threshold=0.3)
    assert out[0][1].tolist() == pytest.approx([0.9, 0.7])
    assert out[1][1].tolist() == pytest.approx([0.95])



def test_box_voting_averages_overlapping_candidates_by_score_within_each_image():
    boxes = torch.tensor([[[0.0, 0, 9, 9], [2, 0, 11, 9], [100, 100, 120, 120], [40, 0, 49, 9]],
                          [[1.0, 0, 10, 9], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]])
    scores = torch.tensor([[0.9, 0.6, 0.7, 0.01], [0.8, 0.0, 0.0, 0.0]])
    # "+1" IoU of the first two is 80/120 = 0.67: NMS at 0.3 drops the second, voting at 0.5 averages it in;
    # the candidate of image 1 overlaps box 0 of image 0 but must not pull it; 0.01 is under the threshold.
    out = select_detections(boxes, scores, score_threshold=0.05, nms_threshold=0.3, vote_threshold=0.5)
    (boxes0, scores0), (boxes1, scores1) = out
    assert scores0.tolist() == pytest.approx([0.9, 0.7])  # scores are not changed
    x1 = (0.9 * 0 + 0.6 * 2) / 1.5
    assert boxes0.flatten().tolist() == pytest.approx([x1, 0, x1 + 9, 9, 100, 100, 120, 120])
    assert boxes1.flatten().tolist() == pytest.approx([1, 0, 10, 9]) and scores1.tolist() == pytest.approx([0.8])
    plain = select_detections(boxes, scores, score_threshold=0.05, nms_threshold=0.3)
    assert plain[0][0].flatten().tolist() == pytest.approx([0, 0, 9, 9, 100, 100, 120, 120])

def test_core_does_not_import_av_or_qt():
    code = "import sys, core; core.Detector; print('av' in sys.modules, 'PyQt6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_input_normalisation_folded_into_the_first_conv_is_exact(lite_model, order):
    from core.config import Normalization
    from core.fold import fold_input_normalization
    from core.preprocess import normalize_hwc

    norm = Normalization(order, 1.0, (102.98, 115.95, 122.77), (1.0, 1.0, 1.0)) if order == "BGR" else \
        Normalization()
    pixels = torch.randint(0, 256, (1, 37, 53, 3), dtype=torch.uint8)
    folded, offset = fold_input_normalization(lite_model, norm)
    with torch.no_grad():
        expected = FlatOutputs(lite_model)(normalize_hwc(pixels, norm).permute(0, 3, 1, 2))
        got = FlatOutputs(folded)((pixels - offset).permute(0, 3, 1, 2))
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(expected, got))


def test_runs_on_names_device_and_backend(lite_model):
    cfg = model_config("ssh_lite")
    assert Detector(lite_model, cfg, device="cpu", backend="torch").runs_on == "cpu (torch)"
    assert Detector(lite_model, cfg, device="cpu", backend="onnxruntime").runs_on == "cpu (onnxruntime)"
