"""``sshvideo annotate``: detections for every frame of many videos, and optionally a rendered video.

Per input: a capture thread decodes, the detection worker batches frames through the detector, and
this thread writes detection files (JSON Lines, CSV, MOT, CVAT) and the rendered video, all under
temporary names renamed on success. One failing input is reported and the batch continues; the exit
code is non-zero if any input failed. Under ``torchrun`` each process takes its share of the inputs.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.atomic import atomic_path
from core.errors import UserError
from core.inference import Detector
from sshvideo.capture import Capture, SourceError
from sshvideo.exporters import SUFFIXES, WRITERS, parse_formats
from sshvideo.handoff import BoundedQueue, EndOfStream
from sshvideo.inputs import VIDEO_SUFFIXES, InputFile, expand_inputs
from sshvideo.render import RenderMode, render
from sshvideo.video_writer import VideoWriter, output_suffix_for
from sshvideo.worker import DetectWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnnotateOptions:
    out_dir: Path
    formats: tuple[str, ...] = ("jsonl",)
    render: RenderMode = RenderMode.NONE
    threshold: float = 0.5
    draw_scores: bool = False
    mask_scale: float = 1.3
    keep_audio: bool = False
    every: int = 1
    start: float | None = None
    end: float | None = None
    batch: int = 1
    skip_existing: bool = False


@dataclass
class FileReport:
    path: Path
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    status: str = "ok"
    outputs: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status.startswith("failed")


def planned_outputs(item: InputFile, opts: AnnotateOptions) -> dict[str, Path]:
    """Output path per format (and "video"), mirroring the input's relative folder under ``out_dir``."""
    base = opts.out_dir / item.relative.parent / item.relative.stem
    outputs = {fmt: base.with_name(base.name + SUFFIXES[fmt]) for fmt in opts.formats}
    if opts.render is not RenderMode.NONE:
        suffix = output_suffix_for(item.path, opts.keep_audio)
        outputs["video"] = base.with_name(f"{base.name}_{opts.render.value}{suffix}")
    return outputs


def annotate_file(detector: Detector, item: InputFile, opts: AnnotateOptions, progress: bool = False,
                  position: int = 1) -> FileReport:
    """Annotate one video; failures are reported in the returned ``FileReport``, never raised
    (except KeyboardInterrupt, after discarding the partial outputs)."""
    from tqdm import tqdm

    report = FileReport(item.path)
    t0 = time.perf_counter()
    try:
        outputs = planned_outputs(item, opts)
    except Exception as exc:  # the container cannot even be probed for its audio codec
        report.status = f"failed: {item.path}: cannot open as video ({type(exc).__name__}: {exc})"
        return report
    if opts.skip_existing and all(p.exists() for p in outputs.values()):
        report.status = "skipped (outputs exist)"
        return report
    capture = Capture(str(item.path), queue_size=16, start=opts.start, end=opts.end)
    try:
        info = capture.start().info
    except SourceError as exc:
        capture.stop()
        report.status = f"failed: {exc}"
        return report
    results: BoundedQueue = BoundedQueue(16)
    worker = DetectWorker(detector, capture.frames, results, batch_size=opts.batch, every=opts.every).start()
    bar = tqdm(total=None if opts.start or opts.end else info.frames, desc=item.relative.name[:30], unit="frame",
               leave=False, position=position, disable=not progress, dynamic_ncols=True)
    try:
        _write_outputs(results, item, info, outputs, opts, report, bar.update)
        report.outputs = list(outputs.values())
        if capture.bad_packets:
            report.status = f"ok ({capture.bad_packets} damaged packets skipped)"
    except Exception as exc:
        report.status = f"failed: {exc}"
    finally:
        bar.close()
        worker.stop()
        capture.stop()
        report.seconds = time.perf_counter() - t0
    return report


def _next_results(results: BoundedQueue):
    """Results until the end of the stream; re-raises the capture's or detector's error."""
    while True:
        try:
            yield results.get(timeout=1.0)
        except TimeoutError:
            continue
        except EndOfStream as end:
            if end.error is not None:
                raise end.error from None
            return


def _write_outputs(results, item: InputFile, info, outputs: dict[str, Path], opts: AnnotateOptions,
                   report: FileReport, advance) -> None:
    """Write every result into the detection files and the rendered video. All outputs appear under
    their final names only when the whole stream was processed; otherwise nothing is left behind."""
    meta = {"source": str(item.path), "width": info.width, "height": info.height, "fps": info.fps,
            "threshold": opts.threshold, "every": opts.every}
    writers = {}
    try:
        writers = {fmt: WRITERS[fmt](outputs[fmt], meta) for fmt in opts.formats}
        with contextlib.ExitStack() as stack:
            video_tmp = stack.enter_context(atomic_path(outputs["video"])) if "video" in outputs else None
            video = None
            try:
                for result in _next_results(results):
                    dets, frame = result.detections.above(opts.threshold), result.frame
                    if video_tmp is not None:
                        if video is None:
                            video = VideoWriter(video_tmp, info, shift=frame.time if opts.start else 0.0,
                                                start=opts.start, end=opts.end,
                                                audio_source=str(item.path) if opts.keep_audio else None)
                        video.write(render(frame.image, dets, opts.render, draw_scores=opts.draw_scores,
                                           mask_scale=opts.mask_scale), frame.time)
                    for w in writers.values():
                        w.add(frame.index, frame.time, dets)
                    report.frames += 1
                    report.faces += len(dets)
                    advance(1)
                if report.frames == 0:
                    raise SourceError(f"{item.path}: no frames decoded"
                                      + (" in the requested time range" if opts.start or opts.end else ""))
            finally:
                # Close before the atomic context renames (success) or deletes (failure) the file: the
                # muxer may only open it when the encoder's first packet arrives, at close.
                if video is not None:
                    video.close()
                    if video.audio_dropped:
                        log.warning("%s: dropped %d audio packets with non-increasing timestamps", item.path,
                                    video.audio_dropped)
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise


def format_summary(reports: list[FileReport]) -> str:
    rows = [("file", "frames", "faces", "seconds", "fps", "status")]
    for r in reports:
        fps = f"{r.frames / r.seconds:.1f}" if r.seconds and r.frames else "-"
        rows.append((str(r.path), str(r.frames), str(r.faces), f"{r.seconds:.1f}", fps, r.status))
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[i][-widths[i]:].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(5)]
        lines.append("  ".join(cells) + "  " + row[5])
    return "\n".join(lines)


def shard_for_this_process(items: list) -> tuple[list, int, int]:
    """Under torchrun: every WORLD_SIZE-th input starting at RANK."""
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    return items[rank::world], rank, world


def run_annotate_command(args, progress: bool) -> int:
    import torch
    from tqdm import tqdm

    from sshvideo.models import load_detector

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.every < 1:
        raise UserError("--every must be at least 1")
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise UserError("--end must be after --start")
    inputs, problems = expand_inputs(args.inputs, VIDEO_SUFFIXES)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    inputs, rank, world = shard_for_this_process(inputs)
    device = args.device
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device in ("auto", "cuda") and torch.cuda.is_available():
            device = f"cuda:{local % torch.cuda.device_count()}"
        elif device in ("auto", "cpu"):
            device = "cpu"
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    detector = load_detector(args.weights, device=device, threshold=args.thresh, size=args.size,
                             backend=args.backend)
    batch = args.batch or (8 if detector.device.type == "cuda" else 1)
    opts = AnnotateOptions(Path(args.out), tuple(formats), RenderMode(args.render), args.thresh, args.draw_scores,
                           args.mask_scale, args.keep_audio, args.every, args.start, args.end, batch,
                           args.skip_existing)
    reports = []
    overall = tqdm(inputs, desc="videos", unit="file", position=0, disable=not progress or len(inputs) < 2)
    for item in overall:
        report = annotate_file(detector, item, opts, progress=progress, position=1)
        if report.failed:
            print(f"error: {report.status[len('failed: '):]}", file=sys.stderr)
        reports.append(report)
    overall.close()
    prefix = f"[rank {rank}/{world}] " if world > 1 else ""
    print(prefix + f"device: {detector.runs_on}")
    if reports:
        print(format_summary(reports))
    failed = sum(r.failed for r in reports) + len(problems)
    if failed:
        print(f"{prefix}{failed} input(s) failed", file=sys.stderr)
    return 1 if failed or not inputs and not reports else 0
