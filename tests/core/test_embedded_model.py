"""The model that ships in core/weights: it loads with its card and finds real faces."""
import av
import numpy as np
import torch
from conftest import DATA

from core import Detector, load_checkpoint
from core.boxes import box_iou_inclusive
from core.weights import DEFAULT_WEIGHTS
from training.images import read_image_rgb

VAL_IMAGE = DATA / "val_images" / "13--Interview" / "13_Interview_Interview_Sequences_13_108.jpg"
VAL_FACES = torch.tensor([[186.0, 94, 284, 244], [746, 38, 854, 200]])  # official WIDER val labels (x2 = x + w)


def test_embedded_checkpoint_is_small_documented_and_loads():
    assert DEFAULT_WEIGHTS.stat().st_size < 25 * 2**20
    card = DEFAULT_WEIGHTS.with_suffix(".md")
    assert card.is_file() and "AP" in card.read_text()
    ckpt = load_checkpoint(DEFAULT_WEIGHTS)
    assert ckpt.config.backbone == "lite" and ckpt.metadata["steps"] > 0 and ckpt.metadata["trained_on"]


def test_embedded_model_finds_the_faces_of_a_val_image():
    detector = Detector.from_checkpoint(DEFAULT_WEIGHTS, device="cpu")
    [dets] = detector.detect([read_image_rgb(VAL_IMAGE)])
    top = torch.from_numpy(dets.boxes[:2])  # the two best detections are the two faces, found confidently
    iou = box_iou_inclusive(VAL_FACES, top)
    assert bool((iou.max(dim=1).values >= 0.5).all()), (dets.boxes[:4], dets.scores[:4])
    assert dets.scores[1] > 0.99


def test_embedded_model_finds_the_face_in_the_real_clip():
    detector = Detector.from_checkpoint(DEFAULT_WEIGHTS, device="cpu")
    with av.open(str(DATA / "closeup_988.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(3), container.decode(video=0))]
    for dets in detector.detect(frames):
        confident = dets.above(0.5)
        assert len(confident) >= 1
        x1, y1, x2, y2 = confident.boxes[0]
        assert (x2 - x1) > 150 and np.isfinite(confident.boxes).all()  # one large face


def test_onnxruntime_and_torch_give_the_same_detections_on_a_real_image():
    image = read_image_rgb(VAL_IMAGE)
    [fast] = Detector.from_checkpoint(DEFAULT_WEIGHTS, device="cpu", backend="onnxruntime").detect([image])
    [ref] = Detector.from_checkpoint(DEFAULT_WEIGHTS, device="cpu", backend="torch").detect([image])
    fast, ref = fast.above(0.3), ref.above(0.3)
    assert len(ref) >= 2 and len(fast) == len(ref)
    assert np.abs(fast.boxes - ref.boxes).max() < 0.1 and np.abs(fast.scores - ref.scores).max() < 1e-3
