"""Detector speed: forward and end-to-end ms per frame, FLOPs and GFLOP/s, and the peers in the same run.

    python bench/speed.py                      # CPU (2 threads); CUDA too when present
    python bench/speed.py --skip-vgg           # only the light model and the peers
    python bench/speed.py --skip-vgg --busy-cores 1   # the same with one core also running a busy loop

On the CPU ours runs twice: with the default backend (ONNX Runtime when installed) and with torch's
traced graph. End to end = preprocessing (resize, normalise) + forward + decode + NMS of an RGB frame
already in memory, exactly what the peers' runner times for them (their ``detect()`` on a resized image).
``--busy-cores K`` keeps K of the pinned cores busy with spinning processes during all timings, as the
rest of a video pipeline does (decoding, drawing): it shows what a detector loses when its threads have
to wait for a core.
"""
from __future__ import annotations

import argparse
import sys

from common import (
    busy_cores,
    conv_macs,
    format_times,
    interleaved_timing,
    markdown_table,
    median,
    median_ms,
    ours_key,
    pin_threads,
    prepared_peers,
    test_frame_rgb,
)

VGG_SIZES = [(400, 800), (800, 1200), (1200, 1600)]
REFERENCE_GMACS = {(400, 800): 104.19, (800, 1200): 312.52, (1200, 1600): 625.04}  # ssh_reference.md §8
PAPER_MS = {(400, 800): 48, (800, 1200): 107, (1200, 1600): 182}  # Table 2, Quadro P6000
CPU_BACKENDS = ("auto", "torch")  # auto: ONNX Runtime when installed (the default), else torch
LABELS = {ours_key("auto"): "ssh_lite (ours, default backend)", ours_key("torch"): "ssh_lite (ours, torch backend)"}
PEER_NAMES = ["yunet", "yunet_n", "ulfd_rfb320", "ulfd_rfb640", "retinaface_mnet025", "scrfd_500m", "scrfd_2.5g"]


def detector_for(name: str, device: str, short_side, max_side, weights=None, backend: str = "auto"):
    import torch

    from core import Detector, InferenceConfig, build_ssh, model_config

    if weights:
        return Detector.from_checkpoint(weights, device=device, short_side=short_side, max_side=max_side,
                                        score_threshold=0.5, backend=backend)
    torch.manual_seed(0)
    cfg = model_config(name)
    return Detector(build_ssh(cfg).eval(), cfg, device=device, backend=backend,
                    inference=InferenceConfig(short_side=short_side, max_side=max_side, score_threshold=0.5))


def time_detector(det, height: int, width: int, iters: int):
    import torch

    frame = test_frame_rgb(width, height)
    x = torch.randn(1, 3, height, width, device=det.device)
    sync = torch.cuda.synchronize if det.device.type == "cuda" else None

    def forward():
        with torch.inference_mode():
            det._forward(x)

    return (median_ms(forward, iters=iters, warmup=1 if iters < 5 else 3, max_seconds=120, sync=sync),
            median_ms(lambda: det.detect([frame]), iters=iters, warmup=1 if iters < 5 else 3, max_seconds=120,
                      sync=sync))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-vgg", action="store_true")
    ap.add_argument("--weights", help="light model checkpoint (default: the embedded model, else random init)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds against the peers (default 3)")
    ap.add_argument("--busy-cores", type=int, default=0, metavar="K",
                    help="keep K of the pinned cores busy with spinning processes while timing (default 0)")
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    with busy_cores(args.busy_cores):
        return run(args)


def run(args) -> int:
    import torch

    from core import model_config
    from core.model import build_ssh
    from core.weights import default_weights

    weights = args.weights or default_weights()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    lite_gmacs = conv_macs(build_ssh(model_config("ssh_lite")).eval(), 480, 640) / 1e9
    for device in devices:
        for backend in CPU_BACKENDS if device == "cpu" else ("torch",):
            det = detector_for("ssh_lite", device, None, None, weights, backend)
            fwd, e2e = time_detector(det, 480, 640, 50)
            rows.append(["ssh_lite", f"{device} / {det.backend}", "640×480", f"{lite_gmacs:.3f}", "-",
                         f"{fwd:.1f}", f"{e2e:.1f}", f"{2 * lite_gmacs / fwd * 1000:.1f}", "-"])
        if args.skip_vgg:
            continue
        vgg = build_ssh(model_config("ssh_vgg16")).eval()
        for h, w in VGG_SIZES:
            det = detector_for("ssh_vgg16", device, None, None)
            gmacs = conv_macs(vgg, h, w) / 1e9
            fwd, e2e = time_detector(det, h, w, 3 if device == "cpu" else 30)
            rows.append(["ssh_vgg16", f"{device} / {det.backend}", f"{h}×{w}", f"{gmacs:.2f}",
                         f"{REFERENCE_GMACS[(h, w)]:.2f}", f"{fwd:.1f}", f"{e2e:.1f}", f"{2 * gmacs / fwd * 1000:.1f}",
                         f"{PAPER_MS[(h, w)] / e2e:.3f}"])
    print(f"threads: {args.threads}, busy cores: {args.busy_cores}, torch {torch.__version__}, "
          f"light model weights: {weights or 'random init'}")
    print(markdown_table(["model", "device / backend", "input", "GMAC", "GMAC (ref.)", "forward ms",
                          "end-to-end ms", "GFLOP/s", "paper ms / ours"], rows))
    if not prepared_peers().is_dir():
        print("peers not found; skipping the comparison", file=sys.stderr)
        return 0
    times = interleaved_timing(weights, PEER_NAMES, args.threads, args.rounds, backends=CPU_BACKENDS)
    ours = median(times[ours_key("auto")])
    table = [[LABELS.get(name, name), "640×480", format_times(values),
              f"{median(values) / ours:.2f}×" if values else "-"] for name, values in times.items()]
    print()
    print(f"peers, same run, {args.threads} threads, {args.busy_cores} busy cores, their end-to-end detect() on the "
          f"same 640×480 image, median [min–max] of {args.rounds} interleaved rounds:")
    print(markdown_table(["detector", "input", "ms", "peer ms / ssh_lite ms"], table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
