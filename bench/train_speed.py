"""Training throughput (images/s) and peak memory of one optimiser step, for both models, and of the
data loader.

    python bench/train_speed.py [--threads 2] [--steps 5] [--skip-vgg]

ssh_lite: 640² crops (its recipe's size), batch 32, with everything trained and with ``--freeze-at 2``
(stem and stride-4 stage fixed, as fine-tuning runs use). ssh_vgg16: the paper's scale (short side 1200,
long side 1600, 1 image per pass) on CUDA; on a CPU, where one such step takes minutes, a 600×800 image
instead (reported in the table). Loader: items/s of one process preparing the crop recipe's training
images (640² crops, half of them mosaics, occluders and degradations at 0.2) from the WIDER images in
``../shared/data/wider/train``: on a 2-core machine a loader worker takes its CPU from the step.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
from common import SHARED, markdown_table, pin_threads


def step_speed(model_name, device, height, width, batch, steps, freeze_at=0):
    import torch

    from core import model_config
    from core.model import build_ssh
    from training.config import recipe_for
    from training.optim import build_optimizer
    from training.trainer import StepRunner, ready_for_training

    torch.manual_seed(0)
    cfg = model_config(model_name)
    model, _ = ready_for_training(build_ssh(cfg), freeze_at, torch.device(device))
    config = recipe_for(model_name, batch_size=batch, freeze_at=freeze_at)
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


def loader_speed(items: int) -> tuple[float, int]:
    """(items/s, images read) of the crop recipe's dataset over the shared WIDER train images, one process."""
    import cv2

    from training.config import recipe_for
    from training.trainer import make_dataset
    from training.wider import read_wider_folder

    cv2.setNumThreads(1)  # as in a loader worker
    samples = read_wider_folder(SHARED / "data" / "wider" / "train")
    dataset = make_dataset(samples, recipe_for("ssh_lite", mosaic=0.5, occlusion=0.2, degrade=0.2))
    dataset.item(0, 0)  # warm-up
    t0 = time.perf_counter()
    for i in range(items):
        dataset.item((i * 7919) % len(samples), 1)
    return items / (time.perf_counter() - t0), len(samples)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--loader-items", type=int, default=64, help="training images the loader prepares (default 64)")
    ap.add_argument("--skip-vgg", action="store_true")
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    import torch

    rows = []
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        for freeze_at in (0, 2):
            ips, peak = step_speed("ssh_lite", device, 640, 640, 32, args.steps, freeze_at)
            rows.append([f"ssh_lite, --freeze-at {freeze_at}", device, "32 × 640×640", f"{ips:.1f}", f"{peak:.0f}"])
        if args.skip_vgg:
            continue
        h, w, steps = (1067, 1600, args.steps) if device == "cuda" else (600, 800, 1)
        ips, peak = step_speed("ssh_vgg16", device, h, w, 1, steps)
        rows.append(["ssh_vgg16", device, f"1 × {h}×{w}", f"{ips:.2f}", f"{peak:.0f}"])
    print(f"threads {args.threads}, torch {torch.__version__}; peak memory: process RSS on the CPU (includes "
          f"everything loaded so far), allocator peak on CUDA")
    print(markdown_table(["model", "device", "batch", "images/s", "peak memory MiB"], rows))
    items_per_s, images = loader_speed(args.loader_items)
    print(f"\nloader, one process: {items_per_s:.1f} training images/s (640² crops, mosaic 0.5, occlusion 0.2, "
          f"degrade 0.2; {args.loader_items} items from {images} WIDER train images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
