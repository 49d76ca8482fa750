"""End-to-end ``annotate`` speed on the 720p clip: frames/s and where the time goes.

    python bench/video_speed.py [--threads 2] [--vgg-frames 6]

For each detector: the full pipeline (decode thread → detection worker → render boxes + H.264 encode +
JSON Lines), then decode, detect and render+encode measured alone on the same frames to give each
stage's share. ssh_vgg16 runs on the first --vgg-frames frames only on a CPU (seconds per frame).
The fastest peer (YuNet) is swapped into the same pipeline for the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import CLIP_720P, PeerDetector, markdown_table, pin_threads


def decode_all(end: float | None):
    from sshvideo.capture import Capture
    from sshvideo.handoff import EndOfStream

    cap = Capture(str(CLIP_720P), end=end).start()
    frames = []
    t0 = time.perf_counter()
    while True:
        try:
            frames.append(cap.frames.get(timeout=30))
        except EndOfStream:
            break
    cap.stop()
    return frames, time.perf_counter() - t0, cap.info


def measure(name: str, detector, end: float | None, out_dir: Path):
    from sshvideo.annotate import AnnotateOptions, annotate_file
    from sshvideo.inputs import InputFile
    from sshvideo.render import render
    from sshvideo.video_writer import VideoWriter

    # Untracked, as the stage timings below (and earlier sessions' runs) are: the tracker adds ~1.4 ms a frame.
    opts = AnnotateOptions(out_dir / name, ("jsonl",), "boxes", threshold=0.5, end=end, batch=1, track=False)
    report = annotate_file(detector, InputFile(CLIP_720P, Path(CLIP_720P.name)), opts)
    if report.failed:
        raise RuntimeError(report.status)
    frames, t_decode, info = decode_all(end)
    t0 = time.perf_counter()
    dets = [detector.detect([f.image])[0].above(0.5) for f in frames]
    t_detect = time.perf_counter() - t0
    t0 = time.perf_counter()
    writer = VideoWriter(out_dir / f"{name}_encode_only.mp4", info)
    for f, d in zip(frames, dets):
        writer.write(render(f.image, d, "boxes"), f.time)
    writer.close()
    t_encode = time.perf_counter() - t0
    total = t_decode + t_detect + t_encode
    return {"frames": report.frames, "fps": report.frames / report.seconds,
            "shares": (t_decode / total, t_detect / total, t_encode / total),
            "stage_ms": (1000 * t_decode / len(frames), 1000 * t_detect / len(frames), 1000 * t_encode / len(frames))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", help="light model checkpoint (default: the embedded model)")
    ap.add_argument("--vgg-frames", type=int, default=6, help="frames for ssh_vgg16 on the CPU")
    ap.add_argument("--skip-vgg", action="store_true")
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    import torch

    from core import Detector, InferenceConfig, build_ssh, model_config
    from sshvideo.models import load_detector

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for device in devices:
            lite = load_detector(args.weights, device=device, threshold=0.5, size="native")
            results[f"ssh_lite ({lite.runs_on}, native 1280×720)"] = measure("lite", lite, None, Path(tmp))
            if not args.skip_vgg:
                torch.manual_seed(0)
                cfg = model_config("ssh_vgg16")
                vgg = Detector(build_ssh(cfg).eval(), cfg, device=device, inference=InferenceConfig(score_threshold=0.5))
                end = None if device == "cuda" else (args.vgg_frames - 0.5) / 29.3
                results[f"ssh_vgg16 ({device}, 1600×900, random weights)"] = measure("vgg", vgg, end, Path(tmp))
        yunet = PeerDetector("yunet", args.threads)
        results["YuNet peer swapped in (cpu, native)"] = measure("yunet", yunet, None, Path(tmp))
    lite_fps = next(v["fps"] for k, v in results.items() if k.startswith("ssh_lite (cpu"))
    for name, r in results.items():
        d, t, e = r["shares"]
        rows.append([name, r["frames"], f"{r['fps']:.1f}", f"{r['stage_ms'][0]:.1f} / {r['stage_ms'][1]:.1f} / "
                     f"{r['stage_ms'][2]:.1f}", f"{d:.0%} / {t:.0%} / {e:.0%}", f"{r['fps'] / lite_fps:.2f}"])
    print(f"{CLIP_720P.name}, annotate --render boxes --format jsonl, threads {args.threads}, torch {torch.__version__}")
    print(markdown_table(["pipeline", "frames", "frames/s end to end", "decode / detect / render+encode ms per frame",
                          "share of time", "fps / ssh_lite fps"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
