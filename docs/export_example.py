"""Run an exported sshvideo face detector without sshvideo: NumPy post-processing for its outputs.

    sshvideo export --format onnx                        # -> ssh_lite_wider.onnx
    python docs/export_example.py ssh_lite_wider.onnx photo.jpg

Needs NumPy and OpenCV (image reading, resizing), plus the runtime of the file: ``onnxruntime``,
OpenCV's ``cv2.dnn`` (with ``onnx`` to read the metadata) or ``torch`` (TorchScript). The exported graph
(``sshvideo export``, outputs "candidates") gives every detection module's top-k decoded boxes
(N, K, 4) and scores (N, K) for RGB pixels; ``postprocess`` does the rest exactly as ``sshvideo
detect``: clip, rescale, threshold, NMS with "+1" areas, box voting. The sshvideo test suite runs these
functions and checks they give the boxes of ``sshvideo detect``.
"""
from __future__ import annotations

import json
import sys

import cv2
import numpy as np


# -- one function per runtime: file + RGB uint8 (H, W, 3) image -> boxes (M, 4) xyxy, scores (M,) --
def detect_onnxruntime(model_path: str, rgb: np.ndarray):
    import onnxruntime as ort

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = json.loads(session.get_modelmeta().custom_metadata_map["sshvideo"])
    pixels, scale, frame = prepare(rgb, meta)
    boxes, scores = session.run(["boxes", "scores"], {"images": pixels})
    return postprocess(boxes[0], scores[0], meta, frame, scale)


def detect_opencv(model_path: str, rgb: np.ndarray):
    import onnx  # only to read the metadata

    props = {p.key: p.value for p in onnx.load(model_path).metadata_props}
    meta = json.loads(props["sshvideo"])
    pixels, scale, frame = prepare(rgb, meta)
    net = cv2.dnn.readNetFromONNX(model_path)
    net.setInput(pixels, "images")
    boxes, scores = net.forward(["boxes", "scores"])
    return postprocess(boxes[0], scores[0], meta, frame, scale)


def detect_torchscript(model_path: str, rgb: np.ndarray):
    import torch

    files = {"sshvideo.json": ""}
    model = torch.jit.load(model_path, map_location="cpu", _extra_files=files)
    meta = json.loads(files["sshvideo.json"])
    pixels, scale, frame = prepare(rgb, meta)
    with torch.no_grad():
        boxes, scores = model(torch.from_numpy(pixels))
    return postprocess(boxes[0].numpy(), scores[0].numpy(), meta, frame, scale)


# -- shared pre- and post-processing ------------------------------------------------------------
def resize_scale(height: int, width: int, meta: dict) -> float:
    """SSH's rule (short side to short_side, long side at most max_side; None: native), or for a
    fixed-size graph the largest scale that fits the frame (and its edge padding) inside the input."""
    post, size = meta["postprocess"], meta["input"]["size"]
    if size:
        return min((size[0] - post["pad_bottom"]) / height, (size[1] - post["pad_right"]) / width)
    short, long = min(height, width), max(height, width)
    scale = 1.0 if post["short_side"] is None else post["short_side"] / short
    if post["max_side"] is not None and round(scale * long) > post["max_side"]:
        scale = post["max_side"] / long
    return scale


def prepare(rgb: np.ndarray, meta: dict):
    """RGB uint8 (H, W, 3) -> network input float32 (1, 3, H', W'), resize factor, (h, w) of the
    resized frame (the rest is edge padding or, for a fixed-size graph, the pad pixel)."""
    post = meta["postprocess"]
    height, width = rgb.shape[:2]
    scale = resize_scale(height, width, meta)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    image = rgb.astype(np.float32)  # resized as floats (no rounding to uint8), bilinear
    if (h, w) != (height, width):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    image = np.pad(image, ((0, post["pad_bottom"]), (0, post["pad_right"]), (0, 0)), mode="edge")
    if meta["input"]["size"]:
        canvas = np.empty((*meta["input"]["size"], 3), np.float32)
        canvas[:] = meta["input"]["pad_value"]  # normalises to 0, as the padding of a batch
        canvas[:image.shape[0], :image.shape[1]] = image
        image = canvas
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None]), scale, (h, w)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(P, 4) × (Q, 4) xyxy -> (P, Q) IoU with "+1" widths (area = (x2 - x1 + 1)(y2 - y1 + 1))."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = iw.clip(min=0) * ih.clip(min=0)
    area = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1), (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / np.maximum(area[0][:, None] + area[1][None, :] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS: indices of the kept boxes, score-descending; IoU > threshold is suppressed."""
    order, keep = np.argsort(-scores, kind="stable"), []
    while len(order):
        keep.append(order[0])
        order = order[1:][iou(boxes[order[:1]], boxes[order[1:]])[0] <= threshold]
    return np.array(keep, dtype=np.int64)


def postprocess(boxes: np.ndarray, scores: np.ndarray, meta: dict, frame: tuple[int, int], scale: float):
    """One image's candidates (K, 4), (K,) -> final boxes (M, 4) xyxy in original pixels, scores (M,)."""
    post = meta["postprocess"]
    upper = np.array([frame[1] - 1, frame[0] - 1] * 2, np.float32)  # w-1, h-1, w-1, h-1
    if post["pad_bottom"] or post["pad_right"]:  # drop boxes centred in the edge padding
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        scores = np.where((centres > upper[:2]).any(axis=1), -1.0, scores)
    boxes = np.minimum(boxes.clip(min=0), upper) / np.float32(scale)
    above = scores > post["score_threshold"]
    boxes, scores = boxes[above], scores[above]
    keep = nms(boxes, scores, post["nms_threshold"])
    kept = boxes[keep]
    if post["vote_threshold"] is not None and len(keep):  # score-weighted mean of the overlapping boxes
        weights = (iou(kept, boxes) >= post["vote_threshold"]) * scores[None, :]
        kept = (weights @ boxes) / weights.sum(axis=1, keepdims=True)
    return kept.astype(np.float32), scores[keep].astype(np.float32)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python export_example.py MODEL.onnx|MODEL.ts.pt IMAGE", file=sys.stderr)
        return 2
    model_path, image_path = argv
    rgb = cv2.cvtColor(cv2.imread(image_path), cv2.COLOR_BGR2RGB)
    detect = detect_onnxruntime if model_path.endswith(".onnx") else detect_torchscript
    for box, score in zip(*detect(model_path, rgb)):
        print(f"{score:.3f}  " + " ".join(f"{v:.1f}" for v in box))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
