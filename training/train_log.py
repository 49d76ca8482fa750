"""The run's CSV log (one row per logged step) and its optional TensorBoard writer."""
from __future__ import annotations

import csv
import logging
from pathlib import Path

from core.atomic import atomic_path

log = logging.getLogger(__name__)


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


def tensorboard_writer(out_dir: Path):
    """A TensorBoard ``SummaryWriter`` under ``out_dir/tensorboard``, or None when it is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed; writing CSV logs only (pip install tensorboard)")
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))
