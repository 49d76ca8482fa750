"""DDP plumbing for ``torchrun`` (multi-GPU, multi-node, or several CPU processes with gloo)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls) -> "DistInfo":
        """This process's place as ``torchrun`` describes it (RANK, WORLD_SIZE, LOCAL_RANK), without
        joining a process group: for work that needs no communication, such as annotating files."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                   int(os.environ.get("LOCAL_RANK", "0")))


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun describes in the environment (no-op for a single process).

    Backend: NCCL on CUDA, gloo on the CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def shard(items: list, info: DistInfo, *, equal_counts: bool) -> list:
    """This process's share: every world_size-th item from its rank. With ``equal_counts`` the shares are
    truncated to the same length (DDP steps in lockstep: a rank with one more batch would wait forever);
    without, every item is in exactly one share (annotating files)."""
    mine = items[info.rank::info.world_size]
    return mine[:len(items) // info.world_size] if equal_counts else mine


def all_reduce_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        value = value.clone()
        dist.all_reduce(value)
        value /= info.world_size
    return value


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
