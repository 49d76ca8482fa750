"""ssh_vgg16 inference on a GPU: precision, memory layout, torch.compile and CUDA graphs, against the
paper's Table 2 and the card's measured peak; then detections of the fastest mode against fp32.

    python bench/gpu_infer.py [--out DIR] [--iters 50] [--check-images N]

Times are device-side (CUDA events), median over --iters after warm-up, forward only and end to end
(upload of the uint8 frame, preprocessing, forward, decode, NMS, all on the GPU). TFLOP/s use the
analytic conv FLOPs (2 × MACs) of each size.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np
from common import GT, VAL, conv_macs, markdown_table

SIZES = [(400, 800), (600, 1000), (800, 1200), (1200, 1600)]
PAPER_MS = {(400, 800): 48, (600, 1000): 74, (800, 1200): 107, (1200, 1600): 182}
MODES = ["fp32", "tf32", "bf16", "bf16+compile", "bf16+compile+cudagraphs"]


def cuda_time_ms(fn, iters: int, warmup: int = 5) -> float:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def peak_tflops(dtype) -> float:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=dtype)
    b = torch.randn(8192, 8192, device="cuda", dtype=dtype)
    ms = cuda_time_ms(lambda: a @ b, 20)
    return 2 * 8192 ** 3 / ms / 1e9


def build_forward(model, mode: str, example):
    """A callable images -> raw outputs for the mode (model already on CUDA)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = mode != "fp32"
    torch.backends.cudnn.allow_tf32 = mode != "fp32"
    net = model.to(memory_format=torch.channels_last) if mode != "fp32" else model
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if mode.startswith("bf16") else contextlib.nullcontext
    if "compile" in mode:
        net = torch.compile(net, mode="max-autotune" if "cudagraphs" in mode else "max-autotune-no-cudagraphs")

    def forward(images):
        with torch.inference_mode(), amp():
            return net(images)

    return forward


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="gpu_bench")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--check-images", type=int, default=394, help="val images for the fp32-vs-fastest check")
    ap.add_argument("--weights", help="ssh_vgg16 checkpoint for the detection check (default: random weights "
                                      "with a fixed seed; boxes then only test numerical agreement)")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    from core import Detector, InferenceConfig, build_ssh, load_checkpoint, model_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name()
    peaks = {"fp32": peak_tflops(torch.float32)}
    torch.backends.cuda.matmul.allow_tf32 = True
    peaks["tf32"] = peak_tflops(torch.float32)
    peaks["bf16"] = peak_tflops(torch.bfloat16)
    torch.manual_seed(0)
    cfg = model_config("ssh_vgg16")
    base = load_checkpoint(args.weights).build_model() if args.weights else build_ssh(cfg)
    rows, records = [], []
    for mode in MODES:
        model = build_ssh(cfg)
        model.load_state_dict(base.state_dict())
        model = model.cuda().eval()
        for (h, w) in SIZES:
            for batch in (1, 8):
                x = torch.randn(batch, 3, h, w, device="cuda")
                if mode != "fp32":
                    x = x.contiguous(memory_format=torch.channels_last)
                try:
                    forward = build_forward(model, mode, x)
                    ms = cuda_time_ms(lambda: forward(x), args.iters) / batch
                except Exception as exc:  # a mode the stack cannot run is reported, not fatal
                    rows.append([mode, f"{h}×{w}", batch, "failed", str(exc)[:60], "", "", ""])
                    continue
                flops = 2 * conv_macs(base, h, w)
                tflops = flops / ms / 1e9
                peak = peaks["bf16" if mode.startswith("bf16") else mode]
                rec = {"mode": mode, "size": [h, w], "batch": batch, "ms_per_image": ms, "images_per_s": 1000 / ms,
                       "tflops": tflops, "peak_share": tflops / peak, "paper_ratio": PAPER_MS[(h, w)] / ms}
                records.append(rec)
                rows.append([mode, f"{h}×{w}", batch, f"{ms:.2f}", f"{1000 / ms:.0f}", f"{tflops:.0f}",
                             f"{tflops / peak:.0%}", f"{PAPER_MS[(h, w)] / ms:.1f}×"])
                print(rows[-1], flush=True)
    print(f"{name}; measured peak TFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    print(markdown_table(["mode", "input", "batch", "ms / image", "images/s", "TFLOP/s", "of peak", "paper / ours"],
                         rows))
    (out / "gpu_infer.json").write_text(json.dumps({"device": name, "peaks": peaks, "records": records}, indent=1))

    # detections: fp32 against the fastest mode that ran, end to end on real images
    fastest = min((r for r in records if r["batch"] == 1 and r["size"] == [1200, 1600]), key=lambda r: r["ms_per_image"])
    from training.evaluate import predict_wider_images
    from training.wider_eval import (
        evaluate_wider,
        image_keys_in,
        load_wider_ground_truth,
    )

    keys = image_keys_in(VAL / "images")[: args.check_images]
    results = {}
    for label, optimize in (("fp32", False), (fastest["mode"], True)):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = optimize
        det = Detector(base, cfg, device="cuda", inference=InferenceConfig(), optimize=optimize)
        preds = predict_wider_images(det, VAL / "images", keys)
        results[label] = (preds, evaluate_wider(preds, load_wider_ground_truth(GT), keys).ap)
    (a, ap_a), (b, ap_b) = results.values()
    from core.boxes import box_iou_inclusive

    matched, total = 0, 0
    for k in keys:
        pa, pb = a[k][a[k][:, 4] >= 0.5], b[k][b[k][:, 4] >= 0.5]
        total += len(pa)
        if len(pa) and len(pb):
            ta = torch.tensor(np.c_[pa[:, :2], pa[:, :2] + pa[:, 2:4]])
            tb = torch.tensor(np.c_[pb[:, :2], pb[:, :2] + pb[:, 2:4]])
            matched += int((box_iou_inclusive(ta, tb).max(dim=1).values >= 0.9).sum())
    print(f"detections ≥ 0.5, fp32 vs {fastest['mode']}: {matched}/{total} boxes matched at IoU ≥ 0.9; "
          f"AP fp32 {ap_a} vs {ap_b}")
    (out / "gpu_check.json").write_text(json.dumps({"fastest": fastest, "matched": matched, "total": total,
                                                    "ap": {"fp32": ap_a, fastest["mode"]: ap_b}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
