"""The training loop: one ``run_step`` plus periodic logging, evaluation and checkpoint hooks.

``train()`` wires a run together: model and optimiser from a ``TrainConfig``, data sharded over
``torchrun`` processes, AMP on CUDA, gradient accumulation, resume (also to extend the schedule),
CSV + TensorBoard logs, periodic evaluation and atomic checkpoints (``last.pt``, ``best.pt``).
"""
from __future__ import annotations

import contextlib
import csv
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import cv2
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from core.atomic import atomic_path
from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import ModelConfig, model_config
from core.inference import Detector, InferenceConfig, resolve_device
from core.model import SSH, build_ssh
from core.preprocess import normalize_hwc
from training.augment import CropTransform, PaperTransform
from training.config import TrainConfig
from training.dataset import EpochStream, FaceDataset, collate
from training.distributed import all_reduce_mean, cleanup, init_from_env, shard
from training.loss import ssh_loss
from training.optim import build_optimizer, set_learning_rate
from training.samples import Sample
from training.schedule import lr_factor

log = logging.getLogger(__name__)

Evaluator = Callable[[Detector], dict]  # detector -> {"metric name": value}


def make_transform(config: TrainConfig):
    if config.augment == "paper":
        return PaperTransform(config.short_side, config.max_side)
    if config.augment == "crop":
        return CropTransform(config.crop_size, config.crop_scales, border_bands=config.border_bands,
                             occlusion=config.occlusion, degrade=config.degrade)
    raise ValueError(f"unknown augment {config.augment!r}; choose 'paper' or 'crop'")


def make_dataset(samples: list[Sample], config: TrainConfig) -> FaceDataset:
    """The training dataset of ``config``: its transform and, for the crop recipe, mosaics of half-size crops."""
    transform = make_transform(config)
    if not config.mosaic:
        return FaceDataset(samples, transform, seed=config.seed)
    if config.augment != "crop":
        raise ValueError("mosaic applies to the crop augmentation only (--augment crop)")
    tiles = replace(transform, size=config.crop_size // 2)
    return FaceDataset(samples, transform, seed=config.seed, mosaic_probability=config.mosaic, tile_transform=tiles)


class StepRunner:
    """Computes one optimiser step from ``accumulation`` micro-batches; owns nothing else."""

    def __init__(self, model, model_config: ModelConfig, optimizer, config: TrainConfig, device: torch.device):
        self.model, self.model_config, self.optimizer = model, model_config, optimizer
        self.config, self.device = config, device
        self.amp_dtype = None
        if config.amp and device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    def _to_input(self, images_uint8: torch.Tensor) -> torch.Tensor:
        images = images_uint8.to(self.device, non_blocking=True)
        return normalize_hwc(images, self.model_config.normalization).permute(0, 3, 1, 2)  # channels-last

    def run_step(self, micro_batches, lr: float) -> dict[str, float]:
        """Forward, loss, backward over the micro-batches, then one SGD/AdamW update at ``lr``.

        Raises ``FloatingPointError`` when the loss is not finite.
        """
        set_learning_rate(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for i, (images, boxes, sizes) in enumerate(micro_batches):
            sync = (contextlib.nullcontext() if i == len(micro_batches) - 1 or not hasattr(self.model, "no_sync")
                    else self.model.no_sync())
            amp = (torch.autocast("cuda", dtype=self.amp_dtype) if self.amp_dtype else contextlib.nullcontext())
            with sync:
                with amp:
                    outputs = self.model(self._to_input(images))
                losses = ssh_loss(outputs, self.model_config.levels, [b.to(self.device) for b in boxes], sizes,
                                  ohem=self.config.ohem, allowed_border=self.config.allowed_border,
                                  box_normaliser=self.config.box_normaliser)
                loss = sum(losses.values())
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"loss is {float(loss)}: {({k: float(v) for k, v in losses.items()})}")
                self.scaler.scale(loss / len(micro_batches)).backward()
            for k, v in losses.items():
                totals[k] = totals.get(k, 0.0) + float(v.detach()) / len(micro_batches)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        totals["loss"] = sum(v for k, v in totals.items())
        return totals


# What a fine-tuned checkpoint records of the one it started from (nested, so chains of runs are kept).
PROVENANCE_KEYS = ("trained_on", "steps", "images_seen", "wall_seconds", "train_config", "initialised_from")


@dataclass
class TrainResult:
    checkpoint: Path | None  # out_dir/last.pt on the main process, None on the others
    model: SSH  # the trained network (unwrapped), on its training device
    steps: int


@dataclass
class RunState:
    step: int = 0
    best_metric: float = -1.0
    wall_seconds: float = 0.0
    history: list = field(default_factory=list)  # [(step, metrics dict)]


def _logged_step(row: dict) -> float:
    """The step of a CSV log row; one whose step does not parse (a killed writer's half line) sorts last."""
    try:
        return float(row["step"])
    except (KeyError, TypeError, ValueError):
        return float("inf")


class CsvLog:
    """Appends one row per logged step; the header is written once.

    Rows past ``after_step`` are dropped when the log is opened: a run resumed from its last
    checkpoint logs those steps again, and a stopped run may have logged beyond that checkpoint. A new
    run (``after_step`` 0) in an old run's folder starts a new log, as it starts new checkpoints."""

    def __init__(self, path: Path, after_step: int = 0):
        self.path = path
        if path.exists():
            self._truncate(after_step)

    def _truncate(self, after_step: int) -> None:
        with self.path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames
            rows = [row for row in reader if _logged_step(row) <= after_step]
        if not fields or not rows:
            self.path.unlink()
            return
        with atomic_path(self.path) as tmp, tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


def _tensorboard(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed; writing CSV logs only (pip install tensorboard)")
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))


@contextlib.contextmanager
def cudnn_autotuning(enabled: bool):
    """``torch.backends.cudnn.benchmark`` set to ``enabled`` inside the block, restored after it."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def _single_threaded_worker(_worker_id: int) -> None:
    # Each loader worker is one of many processes already: OpenCV's own thread pool would oversubscribe.
    cv2.setNumThreads(1)


def _loader(stream: EpochStream, per_forward: int, workers: int) -> DataLoader:
    return DataLoader(stream, batch_size=per_forward, shuffle=False, num_workers=workers, collate_fn=collate,
                      drop_last=True, pin_memory=torch.cuda.is_available(),
                      worker_init_fn=_single_threaded_worker if workers else None)


def train(config: TrainConfig, samples: list[Sample], out_dir: str | Path, *, device: str = "auto",
          evaluator: Evaluator | None = None, resume: str | Path | None = None,
          init_from: str | Path | None = None, backbone_weights: str | None = None,
          data_description: list[str] | None = None, inference: InferenceConfig | None = None,
          progress: bool = True) -> TrainResult:
    """Train; return the final checkpoint path (``out_dir/last.pt``) and the trained model.

    Args:
        samples: training samples (any reader); sharded over ``torchrun`` processes.
        evaluator: called on rank 0 with a Detector every ``eval_every`` steps and at the end.
        resume: a checkpoint with training state: continues at its step, with this ``config``
            (so ``steps`` may be larger than before: the schedule is a function of the step).
        init_from: a checkpoint whose weights initialise the model (fine-tuning).
        backbone_weights: ssh_vgg16 only: "torchvision" (ImageNet via torchvision's API) or a local
            .pth file of torchvision's VGG-16.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    dev = resolve_device(device)
    info = init_from_env(dev.type)
    if info.enabled and dev.type == "cuda":
        dev = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(dev)
    torch.manual_seed(config.seed + info.rank)
    mcfg = model_config(config.model)
    state = RunState()
    model = build_ssh(mcfg)
    train_state = None
    parent = None  # provenance of the weights this run starts from (fine-tuning)
    if resume is not None:
        ckpt = load_checkpoint(resume)
        if ckpt.training_state is None:
            raise ValueError(f"{resume}: checkpoint has no training state to resume from (use --init-from)")
        mcfg = ckpt.config
        model = ckpt.build_model()
        train_state = ckpt.training_state
        state.step = int(train_state["step"])
        state.best_metric = float(train_state.get("best_metric", -1.0))
        state.wall_seconds = float(train_state.get("wall_seconds", 0.0))
        state.history = list(train_state.get("history", []))
        parent = ckpt.metadata.get("initialised_from")  # a resumed fine-tuning run keeps its origin
    elif init_from is not None:
        ckpt = load_checkpoint(init_from)
        mcfg = ckpt.config
        model = ckpt.build_model()
        parent = {"checkpoint": Path(init_from).name,
                  **{k: ckpt.metadata[k] for k in PROVENANCE_KEYS if k in ckpt.metadata}}
    elif backbone_weights:
        if mcfg.backbone != "vgg16":
            raise ValueError("backbone_weights applies to ssh_vgg16 only")
        from core.backbones.vgg16 import load_torchvision_vgg16
        load_torchvision_vgg16(model.backbone, None if backbone_weights == "torchvision" else backbone_weights)
    model = model.to(dev).to(memory_format=torch.channels_last).train()
    optimizer = build_optimizer(model, config, mcfg.batch_norm)
    if train_state is not None and "optimizer" in train_state:
        optimizer.load_state_dict(train_state["optimizer"])
    wrapped = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None) \
        if info.enabled else model
    runner = StepRunner(wrapped, mcfg, optimizer, config, dev)

    per_process = config.batch_size // info.world_size
    if per_process < 1 or config.batch_size % (info.world_size * config.accumulation):
        raise ValueError(f"batch_size {config.batch_size} must be a multiple of world size × accumulation "
                         f"({info.world_size} × {config.accumulation})")
    per_forward = per_process // config.accumulation
    dataset = make_dataset(samples, config)
    indices = shard(list(range(len(samples))), info)
    if len(indices) < per_forward:
        raise ValueError(f"{len(samples)} training samples are fewer than one batch per process ({per_forward})")

    meta = {"trained_on": data_description or [], "train_config": config.to_dict()}
    if parent is not None:
        meta["initialised_from"] = parent
    if inference is not None:
        meta["inference"] = {k: getattr(inference, k) for k in InferenceConfig.__dataclass_fields__}
    csv_log = CsvLog(out_dir / "train_log.csv", after_step=state.step) if info.is_main else None
    tb = _tensorboard(out_dir) if info.is_main else None
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)

    def save(name: str, metrics: dict | None = None):
        training_state = {"step": state.step, "optimizer": optimizer.state_dict(), "best_metric": state.best_metric,
                          "wall_seconds": state.wall_seconds, "history": state.history}
        m = dict(meta, steps=state.step, wall_seconds=round(state.wall_seconds, 1),
                 images_seen=state.step * config.batch_size, metrics=metrics or {},
                 eval_history=state.history)
        return save_checkpoint(out_dir / name, model, mcfg, m, training_state)

    def evaluate():
        model.eval()
        detector = Detector(model, mcfg, device=dev, inference=inference)
        with cudnn_autotuning(False):  # validation images differ in size: tuning each shape costs more than it saves
            metrics = evaluator(detector)
        model.train()
        return metrics

    bar = tqdm(total=config.steps, initial=state.step, disable=not (progress and info.is_main),
               dynamic_ncols=True, unit="step")
    last_metrics: dict = {}
    t_log, images_since = time.perf_counter(), 0
    # One loader for the whole run: each process reads its shard, per_process images per step.
    stream = EpochStream(dataset, indices, config.seed, first=state.step * per_process,
                         length=(config.steps - state.step) * per_process)
    try:
        # Crops all have one size, so cudnn can tune its kernels once; paper-style batches vary in size.
        with cudnn_autotuning(dev.type == "cuda" and config.augment == "crop"):
            batches = iter(_loader(stream, per_forward, config.workers))
            while state.step < config.steps:
                t0 = time.perf_counter()
                micro = [next(batches) for _ in range(config.accumulation)]
                lr = config.scaled_lr * lr_factor(state.step, config)
                losses = runner.run_step(micro, lr)
                state.step += 1
                state.wall_seconds += time.perf_counter() - t0
                images_since += config.batch_size
                bar.update(1)
                if state.step % config.log_every == 0 or state.step == config.steps:
                    loss_t = all_reduce_mean(torch.tensor([losses["loss"]]), info)
                    now = time.perf_counter()
                    rate = images_since / max(1e-9, now - t_log)
                    t_log, images_since = now, 0
                    bar.set_postfix(loss=f"{float(loss_t):.3f}", lr=f"{lr:.2e}", img_s=f"{rate:.1f}")
                    if info.is_main:
                        row = {"step": state.step, "lr": lr, "images_per_s": round(rate, 2),
                               **{k: round(v, 5) for k, v in losses.items()}}
                        csv_log.write(row)
                        if tb:
                            for k, v in row.items():
                                if k != "step":
                                    tb.add_scalar(f"train/{k}", v, state.step)
                evaluating = evaluator is not None and config.eval_every and state.step % config.eval_every == 0
                if info.is_main and evaluating:
                    last_metrics = evaluate()
                    state.history.append([state.step, last_metrics])
                    log.info("step %d: %s", state.step, last_metrics)
                    if tb:
                        for k, v in last_metrics.items():
                            tb.add_scalar(f"val/{k}", v, state.step)
                    score = last_metrics.get("score", -1.0)
                    if score > state.best_metric:
                        state.best_metric = score
                        save("best.pt", last_metrics)
                if info.is_main and (state.step % config.checkpoint_every == 0):
                    save("last.pt", last_metrics)
            if info.is_main:
                if evaluator is not None and (not state.history or state.history[-1][0] != state.step):
                    last_metrics = evaluate()
                    state.history.append([state.step, last_metrics])
                    if last_metrics.get("score", -1.0) > state.best_metric:
                        state.best_metric = last_metrics["score"]
                        save("best.pt", last_metrics)
                save("last.pt", last_metrics)
    finally:
        bar.close()
        if tb:
            tb.close()
        cleanup(info)
    return TrainResult(out_dir / "last.pt" if info.is_main else None, model, state.step)
