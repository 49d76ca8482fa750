"""Loading the pixels of a sample: image files with OpenCV, video frames with PyAV."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import ImageReadError
from training.samples import Sample


def read_image_rgb(path: str | Path) -> np.ndarray:
    """RGB uint8 (H, W, 3) pixels of an image file; raises ``ImageReadError`` naming the file."""
    path = Path(path)
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else None
    if data is None:
        raise ImageReadError(f"{path}: image not found")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"{path}: not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_video_frame_rgb(path: str | Path, frame_index: int) -> np.ndarray:
    """RGB pixels of the ``frame_index``-th decoded frame (0-based, decode order of presentation)."""
    import av  # lazily: only video labels need PyAV

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for i, frame in enumerate(container.decode(stream)):
                if i == frame_index:
                    return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, IndexError) as exc:
        raise ImageReadError(f"{path}: cannot decode video ({exc})") from exc
    raise ImageReadError(f"{path}: frame {frame_index} not found (video has fewer frames)")


def load_sample_image(sample: Sample) -> np.ndarray:
    if sample.frame_index is None:
        return read_image_rgb(sample.source)
    return read_video_frame_rgb(sample.source, sample.frame_index)
