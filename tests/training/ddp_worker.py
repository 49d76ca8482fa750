"""Run by tests/training/test_trainer.py under torchrun: a few DDP steps, then each rank saves its weights."""
import sys
from pathlib import Path

import torch

from training.config import recipe_for
from training.trainer import RunSetup, train
from training.wider import read_wider_folder

out = Path(sys.argv[1])
torch.set_num_threads(1)
samples = read_wider_folder(Path(__file__).resolve().parents[1] / "data" / "wider_mini")
config = recipe_for("ssh_lite", steps=3, batch_size=2, workers=0, crop_size=160, warmup_steps=0, log_every=1,
                    checkpoint_every=100)
result = train(config, samples, RunSetup(out_dir=out, device="cpu", progress=False))
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else int(__import__("os").environ["RANK"])
torch.save(result.model.state_dict(), out / f"rank{rank}.pt")
