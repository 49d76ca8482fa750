"""Shared fixtures: synthetic clips made with PyAV, small checkpoints, paths to real test data."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def write_synthetic_wider_ground_truth(folder: Path) -> None:
    """The official .mat layout with two events and three images (one face 'hard only', one invalid)."""
    from scipy.io import savemat

    def cells(items):
        out = np.empty((len(items), 1), dtype=object)
        for i, item in enumerate(items):
            out[i, 0] = item
        return out

    events = ["0--Parade", "1--Handshaking"]
    files = [["0_a", "0_b"], ["1_a"]]
    boxes = [[np.array([[10, 10, 60, 60], [100, 10, 20, 20]]), np.array([[5, 5, 80, 90]])],
             [np.array([[30, 30, 40, 40], [200, 200, 8, 8]])]]
    keep = {"easy": [[[1], [1]], [[1]]], "medium": [[[1], [1]], [[1]]], "hard": [[[1, 2], [1]], [[1, 2]]]}
    full = {"event_list": cells([np.array([e]) for e in events]),
            "file_list": cells([cells([np.array([f]) for f in fl]) for fl in files]),
            "face_bbx_list": cells([cells(bl) for bl in boxes])}
    savemat(str(folder / "wider_face_val.mat"), full)
    for setting, lists in keep.items():
        gt = {"gt_list": cells([cells([np.array(k).reshape(-1, 1) for k in per_event]) for per_event in lists])}
        savemat(str(folder / f"wider_{setting}_val.mat"), dict(full, **gt))


def make_clip(path: Path, *, frames: int = 12, size: tuple[int, int] = (160, 120), fps: int = 10,
              audio: bool = False, audio_first: bool = False, rotation: int | None = None,
              pts: list[int] | None = None, codec: str = "libx264") -> Path:
    """Write a small H.264 clip: a moving bright square on a gradient, optional AAC sine audio.

    ``pts`` (in 1/1000 s) gives irregular timestamps (variable frame rate); ``rotation`` sets the
    display matrix; ``audio_first`` makes the audio stream index 0.
    """
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        astream = None
        if audio and audio_first:
            astream = out.add_stream("aac", rate=16000)
        v = out.add_stream(codec, rate=fps)
        v.width, v.height = w, h
        v.pix_fmt = "rgb24" if codec == "libx264rgb" else "yuv420p"  # rgb allows odd sizes
        if pts is not None:
            v.time_base = Fraction(1, 1000)
            v.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            v.set_display_rotation(rotation)
        if audio and not audio_first:
            astream = out.add_stream("aac", rate=16000)
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None]
            img[..., 1] = 60
            s = max(8, min(w, h) // 4)
            x = (i * 7) % max(1, w - s)
            img[10:10 + s, x:x + s] = 255
            img[:8, :8] = (255, 0, 0)  # a red marker in the top-left corner (orientation checks)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if astream is not None:
            samples_total = int(16000 * frames / fps)
            t = np.arange(samples_total) / 16000
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples_total, 1024):
                chunk = wave[start:start + 1024]
                if len(chunk) < 1024:
                    chunk = np.pad(chunk, (0, 1024 - len(chunk)))
                af = av.AudioFrame.from_ndarray(chunk[None], format="fltp", layout="mono")
                af.sample_rate = 16000
                af.pts = start
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


@pytest.fixture
def clip_factory(tmp_path):
    counter = iter(range(1000))

    def factory(**kwargs):
        return make_clip(tmp_path / f"clip{next(counter)}.mp4", **kwargs)

    return factory


@pytest.fixture(scope="session")
def random_lite_checkpoint(tmp_path_factory):
    """A freshly initialised ssh_lite checkpoint (meaningless boxes, real code path)."""
    from core import build_ssh, model_config, save_checkpoint

    torch.manual_seed(0)
    cfg = model_config("ssh_lite")
    path = tmp_path_factory.mktemp("ckpt") / "random_lite.pt"
    save_checkpoint(path, build_ssh(cfg), cfg, {"trained_on": "nothing (random init)",
                                                "inference": {"short_side": None, "max_side": 640}})
    return path


@pytest.fixture(scope="session")
def confident_checkpoint(tmp_path_factory):
    """ssh_lite whose M2 face logits are biased up: every frame gets a grid of high-score boxes, so
    drawing, export and rendering have real detections to handle."""
    from core import build_ssh, model_config, save_checkpoint

    torch.manual_seed(0)
    cfg = model_config("ssh_lite")
    model = build_ssh(cfg)
    with torch.no_grad():
        for name, head in model.heads.items():
            head.cls_head.weight.zero_()
            head.bbox_head.weight.zero_()
            head.bbox_head.bias.zero_()
            head.cls_head.bias.copy_(torch.tensor([0.0, 0.0, 6.0, 6.0] if name == "m2" else [0.0, 0.0, -9.0, -9.0]))
    path = tmp_path_factory.mktemp("ckpt") / "confident_lite.pt"
    save_checkpoint(path, model, cfg, {"trained_on": "crafted for tests",
                                       "inference": {"short_side": None, "max_side": 640}})
    return path
