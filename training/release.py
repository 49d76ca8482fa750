"""Turn a training checkpoint into a release: the weights, the model config and the provenance metadata
(data, recipe, steps, metrics, inference defaults), without the optimiser state that only ``--resume``
needs (it is twice the size of the weights for AdamW).

    python -m training.release runs/lite2/best.pt core/weights/ssh_lite_wider.pt --vote-threshold 0.4
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.arg_types import fraction


def release_checkpoint(source: str | Path, destination: str | Path, inference: dict | None = None) -> dict:
    """Write ``source`` without its training state to ``destination`` (atomically); returns the metadata.
    ``inference`` updates the default test-time settings (``InferenceConfig`` fields) stored with it."""
    ckpt = load_checkpoint(source)
    metadata = dict(ckpt.metadata, released_from=Path(source).name)
    if inference:
        metadata["inference"] = {**metadata.get("inference", {}), **inference}
    save_checkpoint(destination, ckpt.build_model(), ckpt.config, metadata)
    return metadata


def _pixels(text: str) -> int:
    """argparse type of the paddings: a whole number of pixels in [0, 512]."""
    if not text.isdigit() or int(text) > 512:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels from 0 to 512, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="training checkpoint (best.pt or last.pt of a run)")
    parser.add_argument("destination", help="release file to write")
    parser.add_argument("--score-threshold", type=fraction, help="default candidate score threshold")
    parser.add_argument("--vote-threshold", type=fraction, help="default box-voting IoU (see core.postprocess)")
    parser.add_argument("--pad-bottom", type=_pixels, help="default edge-replicated rows below each frame "
                                                           "(see core.inference.InferenceConfig)")
    parser.add_argument("--pad-right", type=_pixels, help="default edge-replicated columns right of each frame")
    args = parser.parse_args(argv)
    inference = {k: v for k, v in (("score_threshold", args.score_threshold),
                                   ("vote_threshold", args.vote_threshold), ("pad_bottom", args.pad_bottom),
                                   ("pad_right", args.pad_right)) if v is not None}
    try:
        metadata = release_checkpoint(args.source, args.destination, inference)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.destination}: step {metadata.get('steps')}, metrics {metadata.get('metrics')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
