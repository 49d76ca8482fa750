"""Media bundled with the application: the sample clip the viewer plays when there is no camera."""
from __future__ import annotations

from pathlib import Path

SAMPLE_CLIP = Path(__file__).resolve().parent / "talking_head_720p.mp4"
