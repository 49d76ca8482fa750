"""The embedded models shipped inside the package, each ``<name>.pt`` with its model card ``<name>.md``."""
from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
DEFAULT_WEIGHTS = WEIGHTS_DIR / "ssh_lite_wider.pt"


def default_weights() -> Path | None:
    """The embedded default checkpoint, or None if this installation has none."""
    return DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else None
