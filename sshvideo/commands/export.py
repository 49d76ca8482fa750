"""``sshvideo export``: a checkpoint's network as an ONNX or TorchScript file, post-processing settings
in its metadata (``core.export``), so the detector runs where Python does not."""
from __future__ import annotations

import argparse
import importlib.util
import re
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import UserError
from sshvideo.commands import exit_codes
from training.arg_types import fraction, positive_int

HELP = "export the detector to ONNX or TorchScript (post-processing settings in the file's metadata)"

SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from core.export import EXPORTERS, OPSETS, OUTPUT_KINDS, SUFFIXES
    from core.onnx_backend import OPSET

    parser.add_argument("--weights", metavar="CKPT", type=Path, help="checkpoint to export (default: the embedded "
                                                                     "model)")
    parser.add_argument("--format", "-f", choices=tuple(EXPORTERS), default="onnx", help="file format (default: onnx)")
    suffixes = ", ".join(f"{s} for {f}" for f, s in SUFFIXES.items())
    parser.add_argument("--out", "-o", type=Path, help=f"output file (default: the checkpoint's name with {suffixes}, "
                                                       "in the current folder)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--size", metavar="HxW", help="fixed network input, height x width pixels, batch 1 "
                                                     "(e.g. 480x640)")
    shape.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width (the default)")
    parser.add_argument("--half", action="store_true", help="float16 network (inputs and outputs stay float32)")
    parser.add_argument("--opset", type=positive_int, help=f"ONNX opset, {OPSETS.start}..{OPSETS.stop - 1} "
                                                           f"(default: {OPSET})")
    parser.add_argument("--outputs", choices=OUTPUT_KINDS, default="candidates",
                        help="candidates: decoded top-k boxes and scores per module, before NMS (default); raw: "
                             "the network's per-module score and box-delta maps")
    post = parser.add_argument_group("post-processing settings written into the metadata (default: the "
                                     "checkpoint's own)")
    post.add_argument("--thresh", "-t", type=fraction, help="minimum face score")
    post.add_argument("--nms", type=fraction, metavar="IOU", help="NMS IoU threshold")
    post.add_argument("--top-k", type=positive_int, metavar="K", help="candidates kept per detection module "
                                                                      "(the graph's K with --outputs candidates)")
    vote = post.add_mutually_exclusive_group()
    vote.add_argument("--vote", type=fraction, metavar="IOU", help="box voting with this IoU")
    vote.add_argument("--no-vote", action="store_true", help="no box voting")


def parse_hw(text: str) -> tuple[int, int]:
    """"480x640" -> (480, 640): height x width, positive whole pixels; else ``UserError`` naming --size."""
    match = SIZE_PATTERN.match(text)
    if match is None:
        raise UserError(f"--size must be HEIGHTxWIDTH in pixels (e.g. 480x640), got {text!r}")
    height, width = int(match.group(1)), int(match.group(2))
    if height < 1 or width < 1:
        raise UserError(f"--size must be positive pixels, got {text!r}")
    return height, width


@dataclass(frozen=True)
class Options:
    weights: Path
    format: str
    out: Path
    size: tuple[int, int] | None = None  # None: dynamic
    half: bool = False
    opset: int | None = None  # None: core.onnx_backend.OPSET
    outputs: str = "candidates"
    thresh: float | None = None  # None: the checkpoint's own post-processing setting
    nms: float | None = None
    top_k: int | None = None
    vote: float | None = None
    no_vote: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        from core.export import EXPORTERS, OPSETS, default_output
        from core.weights import default_weights

        if args.format not in EXPORTERS:
            raise UserError(f"--format must be one of {', '.join(EXPORTERS)}, got {args.format!r}")
        weights = args.weights or default_weights()
        if weights is None:
            raise UserError("no embedded model in this installation: pass --weights CHECKPOINT")
        if args.format == "onnx" and importlib.util.find_spec("onnx") is None:
            raise UserError("--format onnx needs the onnx package: pip install onnx (or 'sshvideo[onnx]')")
        if args.opset is not None:
            if args.format != "onnx":
                raise UserError(f"--opset applies to --format onnx only, not {args.format}")
            if args.opset not in OPSETS:
                raise UserError(f"--opset must lie in {OPSETS.start}..{OPSETS.stop - 1}, got {args.opset}")
        if args.top_k is not None and args.top_k > 100_000:
            raise UserError(f"--top-k must be at most 100000, got {args.top_k}")
        size = parse_hw(args.size) if args.size is not None else None
        out = args.out or default_output(weights, args.format)
        if out.is_dir():
            raise UserError(f"--out {out} is a folder: give the file name to write")
        return cls(Path(weights), args.format, out, size, args.half, args.opset, args.outputs, args.thresh,
                   args.nms, args.top_k, args.vote, args.no_vote)

    def inference(self, defaults):
        """``defaults`` (``core.inference.InferenceConfig``, the checkpoint's) with this command's overrides."""
        overrides = {"score_threshold": self.thresh, "nms_threshold": self.nms, "top_k_per_level": self.top_k,
                     "vote_threshold": self.vote}
        chosen = {key: value for key, value in overrides.items() if value is not None}
        if self.no_vote:
            chosen["vote_threshold"] = None
        return replace(defaults, **chosen)


def run(options: Options) -> int:
    from core.checkpoint import load_checkpoint
    from core.export import ExportSettings, export_checkpoint
    from core.inference import InferenceConfig
    from core.onnx_backend import OPSET

    checkpoint = load_checkpoint(options.weights)  # CheckpointError: a message naming the file
    inference = options.inference(InferenceConfig.from_dict(checkpoint.metadata.get("inference", {})))
    settings = ExportSettings(size=options.size, half=options.half, outputs=options.outputs,
                              opset=options.opset or OPSET, inference=inference)
    metadata = export_checkpoint(checkpoint, options.out, options.format, settings)
    shape = "x".join(map(str, options.size)) + " (batch 1)" if options.size else "dynamic batch, height, width"
    post = metadata["postprocess"]
    print(f"{options.out}: {options.format}, input {shape}, outputs {', '.join(metadata['outputs']['names'])}"
          f"{', float16' if options.half else ''}; {options.out.stat().st_size / 1e6:.2f} MB")
    print(f"post-processing (in the metadata): score > {post['score_threshold']}, NMS {post['nms_threshold']}, "
          f"top {post['top_k_per_level']} per module, box voting {post['vote_threshold'] or 'off'}")
    return exit_codes.OK
