"""Decode each labelled video once and keep its labelled frames as images for training."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2

from core.errors import ImageReadError, LabelFormatError
from training.samples import Sample


def materialize_video_frames(samples: list[Sample], cache_dir: str | Path) -> list[Sample]:
    """Replace video-frame samples by image samples under ``cache_dir`` (PNG, decoded in one pass per video)."""
    cache_dir = Path(cache_dir)
    by_video: dict[Path, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if s.frame_index is not None:
            by_video[Path(s.source)].append(i)
    out = list(samples)
    if by_video:
        import av  # only video labels need PyAV
    for v, (video, indices) in enumerate(by_video.items()):
        wanted = {samples[i].frame_index: i for i in indices}
        folder = cache_dir / f"{v:03d}_{video.stem}"
        folder.mkdir(parents=True, exist_ok=True)
        last = max(wanted)
        try:
            with av.open(str(video)) as container:
                for index, frame in enumerate(container.decode(video=0)):
                    if index in wanted:
                        path = folder / f"{index:07d}.png"
                        if not path.exists():
                            cv2.imwrite(str(path), frame.to_ndarray(format="bgr24"))
                        s = samples[wanted[index]]
                        out[wanted[index]] = Sample(path, s.boxes, invalid=s.invalid)
                    if index >= last:
                        break
        except (av.FFmpegError, OSError) as exc:
            raise ImageReadError(f"{video}: cannot decode ({exc})") from exc
        missing = [f for f, i in wanted.items() if out[i].frame_index is not None]
        if missing:
            raise ImageReadError(f"{video}: frames {missing[:5]} not found (video has fewer frames)")
    return out


def count_video_frames(video: Path) -> int:
    """Number of video packets with data in ``video`` (its frame count, without decoding them)."""
    import av  # only video labels need PyAV

    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise LabelFormatError(f"{video}: cannot read the annotated video ({exc})") from exc
