"""Helpers shared by the benchmark scripts: thread pinning, timing, the peers' runner, tables."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_PEERS = SHARED / "peers"
PEER_CACHE = Path.home() / ".cache" / "sshvideo-bench" / "peers"


# Files the peers' setup.sh derives from their weights (graph surgery only), with the peers' tool and
# arguments that make each: (derived file, tool, source file).
DERIVED_PEER_FILES = [
    *((f"ulfd_version-{v}_noinit.onnx", "strip_initializer_inputs.py", f"ulfd_version-{v}.onnx")
      for v in ("RFB-320", "RFB-640", "slim-320")),
    ("scrfd_2.5g_bnkps_dyn.onnx", "make_scrfd_dynamic.py", "syshin_scrfd_2.5g_bnkps.onnx"),
]


@functools.cache
def prepared_peers() -> Path:
    """The peers' folder with its derived ONNX files (ULFD without initializer inputs, SCRFD-2.5G with
    dynamic input), prepared on first use (never at import: a script that only times our model copies and
    runs nothing).

    ``../shared/peers`` may be read-only, so it is copied once to a cache folder where the peers' own
    tools derive the missing files (needs ``pip install onnx onnxruntime``: the ``bench`` extra).
    """
    import shutil

    if not SHARED_PEERS.is_dir():
        return SHARED_PEERS
    if all((SHARED_PEERS / "weights" / name).is_file() for name, _, _ in DERIVED_PEER_FILES):
        return SHARED_PEERS
    if not PEER_CACHE.is_dir():
        shutil.copytree(SHARED_PEERS, PEER_CACHE, ignore=shutil.ignore_patterns("venv", "results"))
    weights = PEER_CACHE / "weights"
    for name, tool, source in DERIVED_PEER_FILES:
        if not (weights / name).is_file():
            subprocess.run([sys.executable, str(PEER_CACHE / "tools" / tool), str(weights / source), str(weights / name)],
                           check=True, capture_output=True)
    return PEER_CACHE


TEST_IMAGE = SHARED_PEERS / "test_images" / "ulfd_1.jpg"  # the image the peers' README times
VAL = SHARED / "data" / "wider" / "val"
GT = SHARED / "data" / "wider" / "eval_gt"
CLIP_720P = SHARED / "data" / "videos" / "talking_head_720p.mp4"


def pin_threads(n: int) -> None:
    """Same rule as the peers' runner: n cores, n intra-op threads (call before heavy imports run work)."""
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[k] = str(n)
    try:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:n]))
    except (AttributeError, OSError):
        pass
    import torch

    torch.set_num_threads(n)


@contextlib.contextmanager
def busy_cores(count: int):
    """``count`` busy-looping processes while the block runs, each pinned to one of this process's cores
    (the last ones first): a stand-in for the rest of a real pipeline, e.g. the viewer's capture thread
    decoding video next to the detector. Everything timed inside shares its cores with them."""
    cores = sorted(os.sched_getaffinity(0))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        for i, spinner in enumerate(spinners):
            os.sched_setaffinity(spinner.pid, {cores[-1 - i % len(cores)]})
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def median_ms(fn, iters: int = 40, warmup: int = 3, max_seconds: float = 20.0, sync=None) -> float:
    """Median wall time of ``fn()`` in ms (at least 3 runs, at most ``iters`` or ``max_seconds``)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while (len(times) < iters and time.perf_counter() - start < max_seconds) or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def test_frame_rgb(width: int = 640, height: int = 480) -> np.ndarray:
    """The peers' timing image, resized as they resize it (INTER_AREA), as RGB."""
    import cv2

    img = cv2.resize(cv2.imread(str(TEST_IMAGE)), (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def peer_timing(detector: str, size: str = "640x480", threads: int = 2) -> dict | None:
    """Run the peers' own timing mode in a subprocess (so its thread pinning happens before imports)."""
    runner = prepared_peers() / "run_peer.py"
    if not runner.is_file():
        return None
    proc = subprocess.run([sys.executable, str(runner), "--detector", detector, "--time", "--size", size,
                           "--threads", str(threads), "--iters", "40", "--warmup", "3", "--max-seconds", "20"],
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        print(f"peer {detector} failed: {proc.stderr[-300:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def ours_key(backend: str) -> str:
    """Name of our row in ``interleaved_timing``: "ours" for the default backend, "ours (torch)" etc."""
    return "ours" if backend == "auto" else f"ours ({backend})"


def interleaved_timing(weights, peers: list[str], threads: int, rounds: int,
                       backends: tuple[str, ...] = ("auto",)) -> dict[str, list[float]]:
    """{name: [median ms of each round]}: end-to-end detect() of the same 640×480 frame at its own size
    and the deployment threshold (0.5); our rows are named by ``ours_key``. Every round times ours, then
    each peer, so a machine that slows down mid-run slows everyone."""
    import torch

    from sshvideo.models import load_detector

    ours = {ours_key(b): load_detector(weights, device="cpu", threshold=0.5, size="native", backend=b)
            for b in backends}
    frame = test_frame_rgb()
    times: dict[str, list[float]] = {name: [] for name in [*ours, *peers]}
    for _ in range(rounds):
        for name, detector in ours.items():
            with torch.inference_mode():
                times[name].append(median_ms(lambda detector=detector: detector.detect([frame])))
        for name in peers:
            timing = peer_timing(name, "640x480", threads)
            if timing:
                times[name].append(timing["median_ms"])
    return times


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def format_times(values: list[float]) -> str:
    """"median [min–max]" of per-round times, "-" when there are none."""
    if not values:
        return "-"
    return f"{median(values):.1f} [{min(values):.1f}–{max(values):.1f}]"


def markdown_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def conv_macs(model, height: int, width: int) -> float:
    """Multiply-accumulates of all conv/deconv layers for one H×W input (the reference's counting rule)."""
    import torch

    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.ConvTranspose2d):
            total[0] += inputs[0].numel() // inputs[0].shape[0] * module.out_channels // module.groups \
                * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Conv2d):
            total[0] += output.numel() // output.shape[0] * module.in_channels // module.groups \
                * module.kernel_size[0] * module.kernel_size[1]

    convolutions = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)  # siblings: neither subclasses the other
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, convolutions)]
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width))
    for h in handles:
        h.remove()
    return float(total[0])


class PeerDetector:
    """A peer from ``../shared/peers`` behind the ``Detector.detect`` interface (RGB frames in,
    ``Detections`` out), so the video pipeline can run with it swapped in."""

    def __init__(self, name: str, threads: int, score: float = 0.5):
        import importlib.util

        import torch

        spec = importlib.util.spec_from_file_location("run_peer", prepared_peers() / "run_peer.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self._impl = module.build(name, threads, score)
        self.device = torch.device("cpu")
        self.name = name

    def detect(self, frames):
        import cv2

        from core.inference import Detections

        out = []
        for frame in frames:
            d = self._impl(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), 0)  # 0: the frame's own size
            order = np.argsort(-d[:, 4]) if len(d) else np.zeros(0, int)
            out.append(Detections(d[order, :4].astype(np.float32), d[order, 4].astype(np.float32)))
        return out
