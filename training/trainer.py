"""A training run: ``prepare_run`` builds it, ``Trainer`` steps it and calls its hooks.

``train()`` is the one-call entry: model and optimiser from a ``TrainConfig``, data sharded over
``torchrun`` processes, AMP on CUDA, gradient accumulation, resume (also to extend the schedule), CSV +
TensorBoard logs (``LoggingHook``), periodic evaluation (``EvaluationHook``) and atomic checkpoints
``last.pt``/``best.pt`` (``CheckpointHook``).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import ModelConfig, model_config
from core.errors import UserError
from core.inference import Detector, InferenceConfig, resolve_device
from core.model import SSH, build_ssh
from training.augment import AUGMENTATIONS
from training.config import TrainConfig
from training.dataset import EpochStream, FaceDataset, collate, mean_pixel
from training.distributed import DistInfo, cleanup, init_from_env, shard
from training.freeze import freeze_leading_parts, set_train_mode
from training.hooks import (
    CheckpointHook,
    EvaluationHook,
    Evaluator,
    HookBase,
    LoggingHook,
)
from training.optim import build_optimizer
from training.samples import Sample
from training.schedule import lr_factor
from training.step import StepRunner

log = logging.getLogger(__name__)

# What a fine-tuned checkpoint records of the one it started from (nested, so chains of runs are kept).
PROVENANCE_KEYS = ("trained_on", "steps", "images_seen", "wall_seconds", "train_config", "initialised_from")


def make_dataset(samples: list[Sample], config: TrainConfig) -> FaceDataset:
    """The training dataset of ``config``: its transform and, with ``mosaic``, mosaics of half-size crops."""
    transform = AUGMENTATIONS[config.augment](config)
    if not config.mosaic:
        return FaceDataset(samples, transform, seed=config.seed)
    if not hasattr(transform, "size"):
        raise UserError(f"mosaic needs a fixed-size augmentation (--augment crop), not {config.augment!r}")
    tiles = replace(transform, size=config.crop_size // 2)
    return FaceDataset(samples, transform, seed=config.seed, mosaic_probability=config.mosaic, tile_transform=tiles)


@dataclass(frozen=True)
class RunSetup:
    """Where a run writes and what it starts from (everything but the recipe and the data).

    Attributes:
        evaluator: called on the main process with a Detector every ``eval_every`` steps and at the end.
        resume: a checkpoint with training state: continues at its step with the given config (whose
            ``steps`` may be larger: the schedule is a function of the step).
        init_from: a checkpoint whose weights initialise the model (fine-tuning).
        backbone_weights: pretrained backbone weights for backbones that have a loader
            (``core.backbones.PRETRAINED_LOADERS``): "torchvision" (online) or a local file.
        inference: the test-time settings written into the checkpoints (and used by the evaluator).
    """

    out_dir: Path
    device: str = "auto"
    evaluator: Evaluator | None = None
    resume: Path | None = None
    init_from: Path | None = None
    backbone_weights: str | None = None
    data_description: tuple[str, ...] = ()
    inference: InferenceConfig | None = None
    progress: bool = True


@dataclass
class RunState:
    """What a checkpoint's training state records, besides the optimiser."""

    step: int = 0
    best_metric: float = -1.0
    wall_seconds: float = 0.0
    history: list = field(default_factory=list)  # [[step, metrics dict]]
    last_metrics: dict = field(default_factory=dict)


@dataclass
class PreparedRun:
    """A run ready to step: the model (and its DDP wrapper), optimiser, step runner, data and state."""

    config: TrainConfig
    setup: RunSetup
    model_config: ModelConfig
    model: SSH
    runner: StepRunner
    optimizer: torch.optim.Optimizer
    dataset: FaceDataset
    indices: list[int]
    per_forward: int
    dist: DistInfo
    device: torch.device
    state: RunState
    metadata: dict
    frozen: list[torch.nn.Module] = field(default_factory=list)  # backbone parts kept in eval mode (``freeze_at``)

    @property
    def out_dir(self) -> Path:
        return self.setup.out_dir

    def batches(self):
        """Micro-batches from the run's next image on: one loader for the whole run, so its workers never
        restart at epoch ends; each process reads its shard, ``batch_size / world_size`` images a step."""
        per_process = self.config.batch_size // self.dist.world_size
        stream = EpochStream(self.dataset, self.indices, self.config.seed, first=self.state.step * per_process,
                             length=(self.config.steps - self.state.step) * per_process)
        # Padding in the model's mean colour, as at test time; a partial of a module function pickles for workers.
        pad = functools.partial(collate, pad_value=mean_pixel(self.model_config.normalization))
        loader = DataLoader(stream, batch_size=self.per_forward, shuffle=False, num_workers=self.config.workers,
                            collate_fn=pad, drop_last=True, pin_memory=torch.cuda.is_available(),
                            worker_init_fn=_single_threaded_worker if self.config.workers else None)
        return iter(loader)

    def evaluate(self, evaluator: Evaluator) -> dict:
        """``evaluator`` on the model in eval mode (back to train mode after)."""
        self.model.eval()
        detector = Detector(self.model, self.model_config, device=self.device, inference=self.setup.inference)
        with cudnn_autotuning(False):  # validation images differ in size: tuning each shape costs more than it saves
            metrics = evaluator(detector)
        set_train_mode(self.model, self.frozen)
        return metrics

    def save(self, name: str) -> Path:
        """``out_dir/name``: weights, optimiser and run state, metadata with the newest metrics."""
        state = self.state
        training_state = {"step": state.step, "optimizer": self.optimizer.state_dict(), "best_metric": state.best_metric,
                          "wall_seconds": state.wall_seconds, "history": state.history}
        meta = dict(self.metadata, steps=state.step, wall_seconds=round(state.wall_seconds, 1),
                    images_seen=state.step * self.config.batch_size, metrics=state.last_metrics,
                    eval_history=state.history)
        return save_checkpoint(self.out_dir / name, self.model, self.model_config, meta, training_state)


def _single_threaded_worker(_worker_id: int) -> None:
    # Each loader worker is one of many processes already: OpenCV's own thread pool would oversubscribe.
    cv2.setNumThreads(1)


@contextlib.contextmanager
def cudnn_autotuning(enabled: bool):
    """``torch.backends.cudnn.benchmark`` set to ``enabled`` inside the block, restored after it."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def _initial_model(config: TrainConfig, setup: RunSetup, state: RunState) -> tuple[SSH, ModelConfig, dict | None, dict | None]:
    """(model, its config, training state to resume or None, provenance of the starting weights or None)."""
    if setup.resume is not None:
        ckpt = load_checkpoint(setup.resume)
        if ckpt.training_state is None:
            raise UserError(f"{setup.resume}: checkpoint has no training state to resume from (use --init-from)")
        train_state = ckpt.training_state
        state.step = int(train_state["step"])
        state.best_metric = float(train_state.get("best_metric", -1.0))
        state.wall_seconds = float(train_state.get("wall_seconds", 0.0))
        state.history = list(train_state.get("history", []))
        state.last_metrics = dict(ckpt.metadata.get("metrics", {}))
        return ckpt.build_model(), ckpt.config, train_state, ckpt.metadata.get("initialised_from")
    if setup.init_from is not None:
        ckpt = load_checkpoint(setup.init_from)
        parent = {"checkpoint": Path(setup.init_from).name,
                  **{k: ckpt.metadata[k] for k in PROVENANCE_KEYS if k in ckpt.metadata}}
        return ckpt.build_model(), ckpt.config, None, parent
    mcfg = model_config(config.model)
    model = build_ssh(mcfg)
    if setup.backbone_weights:
        from core.backbones import PRETRAINED_LOADERS

        if mcfg.backbone not in PRETRAINED_LOADERS:
            raise UserError(f"--backbone-weights: the {mcfg.backbone!r} backbone of {config.model} has no pretrained "
                            f"weights to load (backbones with them: {', '.join(PRETRAINED_LOADERS)})")
        source = None if setup.backbone_weights == "torchvision" else setup.backbone_weights
        PRETRAINED_LOADERS[mcfg.backbone](model.backbone, source)
    return model, mcfg, None, None


def ready_for_training(model: SSH, freeze_at: int, device: torch.device) -> tuple[SSH, list[torch.nn.Module]]:
    """``model`` on ``device``, channels-last, in train mode with its first ``freeze_at`` backbone parts frozen
    (``training.freeze``); returns it and the frozen parts, which ``set_train_mode`` keeps in eval mode."""
    try:
        frozen = freeze_leading_parts(model, freeze_at)
    except ValueError as e:
        raise UserError(f"--freeze-at: {e}") from None
    return set_train_mode(model.to(device).to(memory_format=torch.channels_last), frozen), frozen


def prepare_run(config: TrainConfig, samples: list[Sample], setup: RunSetup) -> PreparedRun:
    """Everything a run needs before its first step; joins the ``torchrun`` process group if any."""
    device = resolve_device(setup.device)
    dist = init_from_env(device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    torch.manual_seed(config.seed + dist.rank)
    state = RunState()
    model, mcfg, train_state, parent = _initial_model(config, setup, state)
    model, frozen = ready_for_training(model, config.freeze_at, device)
    optimizer = build_optimizer(model, config, mcfg.batch_norm)
    if train_state is not None and "optimizer" in train_state:
        optimizer.load_state_dict(train_state["optimizer"])
    wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist.enabled else model
    per_process = config.batch_size // dist.world_size
    if per_process < 1 or config.batch_size % (dist.world_size * config.accumulation):
        raise UserError(f"batch size {config.batch_size} must be a multiple of world size × accumulation "
                        f"({dist.world_size} × {config.accumulation})")
    per_forward = per_process // config.accumulation
    indices = shard(list(range(len(samples))), dist, equal_counts=True)
    if len(indices) < per_forward:
        raise UserError(f"{len(samples)} training samples are fewer than one batch per process ({per_forward})")
    metadata = {"trained_on": list(setup.data_description), "train_config": config.to_dict()}
    if parent is not None:
        metadata["initialised_from"] = parent
    if setup.inference is not None:
        metadata["inference"] = {k: getattr(setup.inference, k) for k in InferenceConfig.__dataclass_fields__}
    if dist.is_main:
        setup.out_dir.mkdir(parents=True, exist_ok=True)
    return PreparedRun(config, setup, mcfg, model, StepRunner(wrapped, mcfg, optimizer, config, device), optimizer,
                       make_dataset(samples, config), indices, per_forward, dist, device, state, metadata, frozen)


def default_hooks(run: PreparedRun) -> list[HookBase]:
    """Logging, then evaluation (when the setup has an evaluator), then checkpoints."""
    hooks: list[HookBase] = [LoggingHook(run.config.log_every, run.setup.progress)]
    if run.setup.evaluator is not None:
        hooks.append(EvaluationHook(run.setup.evaluator, run.config.eval_every))
    hooks.append(CheckpointHook(run.config.checkpoint_every))
    return hooks


class Trainer:
    """Steps a prepared run to ``config.steps``, calling each hook before, after every step and after."""

    def __init__(self, run: PreparedRun, hooks: list[HookBase]):
        self.run, self.hooks = run, hooks
        self.losses: dict[str, float] = {}
        self.lr = 0.0

    def hook_of(self, kind: type[HookBase]) -> HookBase | None:
        return next((h for h in self.hooks if isinstance(h, kind)), None)

    def train(self) -> None:
        run, config = self.run, self.run.config
        try:
            for hook in self.hooks:
                hook.before_train(self)
            # Crops all have one size, so cudnn can tune its kernels once; other augmentations vary in size.
            with cudnn_autotuning(run.device.type == "cuda" and config.augment == "crop"):
                batches = run.batches()
                while run.state.step < config.steps:
                    started = time.perf_counter()
                    micro = [next(batches) for _ in range(config.accumulation)]
                    self.lr = config.scaled_lr * lr_factor(run.state.step, config)
                    self.losses = run.runner.run_step(micro, self.lr)
                    run.state.step += 1
                    run.state.wall_seconds += time.perf_counter() - started
                    for hook in self.hooks:
                        hook.after_step(self)
                for hook in self.hooks:
                    hook.after_train(self)
        finally:
            cleanup(run.dist)


@dataclass
class TrainResult:
    checkpoint: Path | None  # out_dir/last.pt on the main process, None on the others
    model: SSH  # the trained network (unwrapped), on its training device
    steps: int


def train(config: TrainConfig, samples: list[Sample], setup: RunSetup) -> TrainResult:
    """Prepare a run, train it with the default hooks, return its last checkpoint and model."""
    run = prepare_run(config, samples, setup)
    Trainer(run, default_hooks(run)).train()
    return TrainResult(run.out_dir / "last.pt" if run.dist.is_main else None, run.model, run.state.step)
