"""Training throughput (images/s) and peak memory of one optimiser step, for both models.

    python bench/train_speed.py [--threads 2] [--steps 5]

ssh_lite: its recipe (480² crops, batch 16). ssh_vgg16: the paper's scale (short side 1200, long side
1600, 1 image per pass) on CUDA; on a CPU, where one such step takes minutes, a 600×800 image instead
(reported in the table).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
from common import markdown_table, pin_threads


def step_speed(model_name, device, height, width, batch, steps):
    import torch

    from core import model_config
    from core.model import build_ssh
    from training.config import recipe_for
    from training.optim import build_optimizer
    from training.trainer import StepRunner

    torch.manual_seed(0)
    cfg = model_config(model_name)
    model = build_ssh(cfg).to(device).to(memory_format=torch.channels_last).train()
    config = recipe_for(model_name, batch_size=batch)
    runner = StepRunner(model, cfg, build_optimizer(model, config, cfg.batch_norm), config, torch.device(device))
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 255, (batch, height, width, 3), dtype=np.uint8))
    boxes = []
    for _ in range(batch):  # a few faces of the sizes every module learns from
        sizes = rng.uniform(20, min(height, width) / 2, 6)
        x, y = rng.uniform(0, width - sizes), rng.uniform(0, height - sizes)
        boxes.append(torch.tensor(np.stack([x, y, x + sizes, y + sizes], 1), dtype=torch.float32))
    micro = [(images, boxes, [(height, width)] * batch)]
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    runner.run_step(micro, config.scaled_lr)  # warm-up
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        runner.run_step(micro, config.scaled_lr)
    sync()
    seconds = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return batch * steps / seconds, peak


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    import torch

    rows = []
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        ips, peak = step_speed("ssh_lite", device, 480, 480, 16, args.steps)
        rows.append(["ssh_lite", device, "16 × 480×480", f"{ips:.1f}", f"{peak:.0f}"])
        h, w, steps = (1067, 1600, args.steps) if device == "cuda" else (600, 800, 1)
        ips, peak = step_speed("ssh_vgg16", device, h, w, 1, steps)
        rows.append(["ssh_vgg16", device, f"1 × {h}×{w}", f"{ips:.2f}", f"{peak:.0f}"])
    print(f"threads {args.threads}, torch {torch.__version__}; peak memory: process RSS on the CPU (includes "
          f"everything loaded so far), allocator peak on CUDA")
    print(markdown_table(["model", "device", "batch", "images/s", "peak memory MiB"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
