"""One optimiser step: forward, loss and backward over micro-batches, then the update."""
from __future__ import annotations

import contextlib
import math

import torch

from core.config import ModelConfig
from core.inference import autocast_dtype
from core.preprocess import normalize_hwc
from training.config import TrainConfig
from training.loss import ssh_loss
from training.optim import set_learning_rate


class StepRunner:
    """Computes one optimiser step from ``accumulation`` micro-batches; owns nothing else.

    On CUDA with ``config.amp`` the forward runs under autocast (bf16 where supported, else fp16 with
    a gradient scaler); elsewhere in fp32."""

    def __init__(self, model, model_config: ModelConfig, optimizer, config: TrainConfig, device: torch.device):
        self.model, self.model_config, self.optimizer = model, model_config, optimizer
        self.config, self.device = config, device
        self.amp_dtype = autocast_dtype(device) if config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    def _to_input(self, images_uint8: torch.Tensor) -> torch.Tensor:
        images = images_uint8.to(self.device, non_blocking=True)
        return normalize_hwc(images, self.model_config.normalization).permute(0, 3, 1, 2)  # channels-last

    def run_step(self, micro_batches, lr: float) -> dict[str, float]:
        """Forward, loss, backward over the micro-batches, then one SGD/AdamW update at ``lr``.

        Each micro-batch is ``(images uint8 (N, H, W, 3), boxes [(M_i, 4)], sizes [(H_i, W_i)])``.
        Returns the loss terms averaged over the micro-batches and their sum as "loss".
        Raises ``FloatingPointError`` when the loss is not finite.
        """
        set_learning_rate(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for i, (images, boxes, sizes) in enumerate(micro_batches):
            last = i == len(micro_batches) - 1
            sync = contextlib.nullcontext() if last or not hasattr(self.model, "no_sync") else self.model.no_sync()
            amp = (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype
                   else contextlib.nullcontext())
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
        totals["loss"] = sum(totals.values())
        return totals
