"""What a training run does around its steps, as hooks (in the manner of detectron2's ``HookBase``).

A hook sees the ``Trainer`` before the first step, after every step and after the last; the trainer
calls its hooks in order, so evaluation (which may save ``best.pt``) runs before the checkpoint hook
writes ``last.pt`` with the newest metrics. Hooks run on every process; those that write files act on
the main process only.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

import torch

from core.inference import Detector
from training.distributed import all_reduce_mean
from training.train_log import CsvLog, tensorboard_writer

if TYPE_CHECKING:
    from training.trainer import Trainer

log = logging.getLogger(__name__)

Evaluator = Callable[[Detector], dict]  # detector -> {"metric name": value, "score": the one to maximise}


class HookBase:
    """Override any of the three; each receives the trainer (its ``run``, ``step``, ``losses``, ``lr``)."""

    def before_train(self, trainer: Trainer) -> None:
        pass

    def after_step(self, trainer: Trainer) -> None:
        pass

    def after_train(self, trainer: Trainer) -> None:
        pass


class LoggingHook(HookBase):
    """Every ``every`` steps and at the last: loss averaged over processes, learning rate and images/s
    to the progress bar, ``train_log.csv`` and TensorBoard (when installed)."""

    def __init__(self, every: int, progress: bool):
        self.every, self.progress = every, progress
        self.csv = self.tensorboard = self.bar = None

    def before_train(self, trainer):
        from tqdm import tqdm

        run = trainer.run
        if run.dist.is_main:
            self.csv = CsvLog(run.out_dir / "train_log.csv", after_step=run.state.step)
            self.tensorboard = tensorboard_writer(run.out_dir)
        self.bar = tqdm(total=run.config.steps, initial=run.state.step, disable=not (self.progress and run.dist.is_main),
                        dynamic_ncols=True, unit="step")
        self._since, self._images = time.perf_counter(), 0

    def after_step(self, trainer):
        run = trainer.run
        self.bar.update(1)
        self._images += run.config.batch_size
        if run.state.step % self.every and run.state.step != run.config.steps:
            return
        loss = float(all_reduce_mean(torch.tensor([trainer.losses["loss"]]), run.dist))
        now = time.perf_counter()
        rate = self._images / max(1e-9, now - self._since)
        self._since, self._images = now, 0
        self.bar.set_postfix(loss=f"{loss:.3f}", lr=f"{trainer.lr:.2e}", img_s=f"{rate:.1f}")
        if not run.dist.is_main:
            return
        row = {"step": run.state.step, "lr": trainer.lr, "images_per_s": round(rate, 2),
               **{k: round(v, 5) for k, v in trainer.losses.items()}}
        self.csv.write(row)
        if self.tensorboard:
            for key, value in row.items():
                if key != "step":
                    self.tensorboard.add_scalar(f"train/{key}", value, run.state.step)

    def after_train(self, trainer):
        self.bar.close()
        if self.tensorboard:
            self.tensorboard.close()


class EvaluationHook(HookBase):
    """On the main process, every ``every`` steps (0: only at the end) and after the last step unless
    it was just evaluated: ``evaluator`` on the model in eval mode; the metrics go to the run's history
    and TensorBoard, and a new best ``score`` saves ``best.pt``."""

    def __init__(self, evaluator: Evaluator, every: int):
        self.evaluator, self.every = evaluator, every

    def after_step(self, trainer):
        if self.every and trainer.run.state.step % self.every == 0:
            self._evaluate(trainer)

    def after_train(self, trainer):
        history = trainer.run.state.history
        if not history or history[-1][0] != trainer.run.state.step:
            self._evaluate(trainer)

    def _evaluate(self, trainer):
        run = trainer.run
        if not run.dist.is_main:
            return
        metrics = run.evaluate(self.evaluator)
        run.state.history.append([run.state.step, metrics])
        run.state.last_metrics = metrics
        log.info("step %d: %s", run.state.step, metrics)
        writer = getattr(trainer.hook_of(LoggingHook), "tensorboard", None)
        if writer:
            for key, value in metrics.items():
                writer.add_scalar(f"val/{key}", value, run.state.step)
        if metrics.get("score", -1.0) > run.state.best_metric:
            run.state.best_metric = metrics["score"]
            run.save("best.pt")


class CheckpointHook(HookBase):
    """``last.pt`` every ``every`` steps and after the last step (main process)."""

    def __init__(self, every: int):
        self.every = every

    def after_step(self, trainer):
        if trainer.run.dist.is_main and trainer.run.state.step % self.every == 0:
            trainer.run.save("last.pt")

    def after_train(self, trainer):
        if trainer.run.dist.is_main:
            trainer.run.save("last.pt")
