"""Annotating videos: detections for every frame of many videos, and optionally a rendered video.

Per input: a capture thread decodes, the detection worker batches frames through the detector, and
this thread writes detection files (JSON Lines, CSV, MOT, CVAT) and the rendered video, all under
temporary names renamed on success. One failing input is reported and the batch continues.
The command line around it is ``sshvideo.commands.annotate``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from core.atomic import atomic_path, write_text_atomic
from core.errors import SshvideoError
from core.inference import Detector
from sshvideo import __version__
from sshvideo.capture import Capture, SourceError
from sshvideo.exporters import WRITERS, Faces
from sshvideo.handoff import BoundedQueue, EndOfStream
from sshvideo.inputs import InputFile
from sshvideo.render import RenderSettings, render
from sshvideo.tracking import Tracker, TrackerSettings
from sshvideo.video_writer import VideoWriter, output_suffix_for
from sshvideo.worker import DetectWorker, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnnotateOptions:
    """What annotate writes for each input. Built once (``sshvideo.commands.annotate``) and validated
    there; ``threshold`` is the minimum score written and rendered (with tracking: the minimum score that
    shows a face or starts a track; boxes continuing a track may score lower, see ``sshvideo.tracking``)."""

    out_dir: Path
    formats: tuple[str, ...] = ("jsonl",)
    render: str = "none"  # a key of sshvideo.render.RENDERERS
    threshold: float = 0.5
    draw_scores: bool = False
    mask_scale: float = 1.3
    keep_audio: bool = False
    every: int = 1
    start: float | None = None
    end: float | None = None
    batch: int = 0  # frames per forward pass; 0: 8 on a GPU, 1 elsewhere
    skip_existing: bool = False
    detector_settings: dict = field(default_factory=dict)  # what else decides the outputs: weights, size
    track: bool = True  # faces as tracks (ids, carried boxes, smoothing), or each frame's detections alone
    tracker: dict = field(default_factory=dict)  # TrackerSettings.for_video keywords: keep_seconds, low_thresh...
    draw_ids: bool = False  # print track ids on the rendered boxes (tracking only)

    def tracker_settings(self, fps: float | None) -> TrackerSettings | None:
        """The tracker's settings for a video at ``fps`` (None without tracking); ``ValueError`` if invalid."""
        return TrackerSettings.for_video(self.threshold, fps, **self.tracker) if self.track else None

    @property
    def detection_threshold(self) -> float:
        """The score the detector must keep down to: the tracker's low threshold takes weak boxes that
        continue a track."""
        settings = self.tracker_settings(None)
        return self.threshold if settings is None else min(self.threshold, settings.low_thresh)

    def output_settings(self) -> dict:
        """Everything that decides the outputs' contents, as recorded in each input's manifest and
        compared by ``--skip-existing``."""
        return {"threshold": self.threshold, "start": self.start, "end": self.end, "every": self.every,
                "formats": list(self.formats), "render": self.render, "draw_scores": self.draw_scores,
                "mask_scale": self.mask_scale, "keep_audio": self.keep_audio, "track": self.track,
                "tracker": dict(sorted(self.tracker.items())) if self.track else None, "draw_ids": self.draw_ids,
                **self.detector_settings}


class Outcome(str, Enum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileReport:
    """What happened to one input: counts, time, outcome and a message (why it failed or was skipped,
    or what was noticed, such as damaged packets)."""

    path: Path
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    outcome: Outcome = Outcome.OK
    message: str = ""
    outputs: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    @property
    def status(self) -> str:
        """The summary table's status cell: the outcome, and the message after it."""
        if not self.message:
            return self.outcome.value
        return f"{self.outcome.value}: {self.message}" if self.failed else f"{self.outcome.value} ({self.message})"


MANIFEST_SUFFIX = ".sshvideo.json"


def planned_outputs(item: InputFile, opts: AnnotateOptions) -> dict[str, Path]:
    """Output path per format (and "video"), mirroring the input's relative folder under ``out_dir``
    and named after ``item.output_base`` (distinct for every input of a run)."""
    base = opts.out_dir / item.output_base
    outputs = {fmt: base.with_name(base.name + WRITERS[fmt].suffix) for fmt in opts.formats}
    if opts.render != "none":
        suffix = output_suffix_for(item.path, opts.keep_audio)
        outputs["video"] = base.with_name(f"{base.name}_{opts.render}{suffix}")
    return outputs


def manifest_path(item: InputFile, opts: AnnotateOptions) -> Path:
    """``<output base>.sshvideo.json``: the settings that made an input's outputs, and their names."""
    base = opts.out_dir / item.output_base
    return base.with_name(base.name + MANIFEST_SUFFIX)


def _existing_outputs_match(item: InputFile, outputs: dict[str, Path], opts: AnnotateOptions) -> str | None:
    """None when every output exists and its manifest records the same settings; else why not."""
    if not all(p.exists() for p in outputs.values()):
        return "some outputs are missing"
    try:
        recorded = json.loads(manifest_path(item, opts).read_text(encoding="utf-8")).get("settings")
    except (OSError, ValueError, AttributeError):
        return "the outputs have no readable manifest"
    if recorded != json.loads(json.dumps(opts.output_settings())):
        changed = sorted(k for k in set(recorded or {}) | set(opts.output_settings())
                         if (recorded or {}).get(k) != opts.output_settings().get(k))
        return f"they were made with other settings ({', '.join(changed)})"
    return None


def annotate_file(detector: Detector, item: InputFile, opts: AnnotateOptions, progress: bool = False,
                  position: int = 1) -> FileReport:
    """Annotate one video. Input failures (the project's own errors, unreadable files) are reported in
    the returned ``FileReport``, never raised; so is any other exception, logged with its traceback as a
    bug, so that one input never stops the batch. KeyboardInterrupt discards the partial outputs and
    propagates."""
    from tqdm import tqdm

    if opts.track and detector.inference.score_threshold > opts.detection_threshold:
        raise ValueError(f"the detector keeps scores >= {detector.inference.score_threshold:g}, but tracking needs "
                         f"them down to {opts.detection_threshold:g}: load it at opts.detection_threshold")
    report = FileReport(item.path)
    t0 = time.perf_counter()
    capture = worker = bar = None
    try:
        try:
            outputs = planned_outputs(item, opts)
        except (SshvideoError, OSError) as exc:  # the container cannot even be probed for its audio codec
            raise SourceError(f"{item.path}: cannot open as video ({exc})") from exc
        if opts.skip_existing:
            why_not = _existing_outputs_match(item, outputs, opts)
            if why_not is None:
                report.outcome, report.message = Outcome.SKIPPED, "outputs exist, same settings"
                return report
            if any(p.exists() for p in outputs.values()):
                log.warning("%s: annotating again: %s", item.path, why_not)
        capture = Capture(str(item.path), queue_size=16, start=opts.start, end=opts.end)
        info = capture.start().info
        results: BoundedQueue = BoundedQueue(16)
        batch = opts.batch or (8 if detector.device.type == "cuda" else 1)
        worker = DetectWorker(detector, capture.frames, results, batch_size=batch, every=opts.every).start()
        bar = tqdm(total=None if opts.start or opts.end else info.frames, desc=item.relative.name[:30],
                   unit="frame", leave=False, position=position, disable=not progress, dynamic_ncols=True)
        _write_outputs(results, item, info, outputs, opts, report, bar.update)
        report.outputs = list(outputs.values())
        write_text_atomic(manifest_path(item, opts), json.dumps(
            {"sshvideo": "annotate", "version": __version__, "input": str(item.path),
             "outputs": {k: p.name for k, p in outputs.items()}, "settings": opts.output_settings()}, indent=1))
        report.message = _damage_note(capture)
    except (SshvideoError, OSError) as exc:
        report.outcome, report.message = Outcome.FAILED, str(exc)
    except Exception as exc:  # a bug: keep its traceback in the log, report the input, go on with the next
        log.exception("%s: unexpected error", item.path)
        report.outcome, report.message = Outcome.FAILED, f"{item.path}: internal error ({type(exc).__name__}: {exc})"
    finally:
        if bar is not None:
            bar.close()
        if worker is not None:
            worker.stop()
        if capture is not None:
            capture.stop()
        report.seconds = time.perf_counter() - t0
    return report


def _damage_note(capture: Capture) -> str:
    """What was lost on the way ("" for an intact stream): damaged packets, missing and repeated frames."""
    notes = [(capture.damaged_packets, "damaged packets skipped"),
             (capture.missing_frames, "frames missing (their numbers are left out)"),
             (capture.duplicate_frames, "frames with repeated timestamps dropped")]
    return ", ".join(f"{count} {what}" for count, what in notes if count)


def annotate_files(detector: Detector, inputs: list[InputFile], opts: AnnotateOptions,
                   progress: bool = False) -> list[FileReport]:
    """``annotate_file`` for each input in turn, with an overall progress bar for several inputs."""
    from tqdm import tqdm

    reports = []
    for item in tqdm(inputs, desc="videos", unit="file", position=0, disable=not progress or len(inputs) < 2):
        reports.append(annotate_file(detector, item, opts, progress=progress, position=1))
    return reports


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


class _FrameFaces:
    """Turns each result into the faces written and rendered for its frame: the detections above the
    threshold, or with tracking the tracker's output (``predict_only`` on frames that were not detected)."""

    def __init__(self, opts: AnnotateOptions, info):
        settings = opts.tracker_settings(info.fps)
        self.threshold = opts.threshold
        self.settings = settings
        self.tracker = None if settings is None else Tracker(settings, frame_size=(info.width, info.height))

    def __call__(self, result: Result) -> Faces:
        if self.tracker is None:
            return Faces.from_detections(result.detections.above(self.threshold))
        index = result.frame.index
        if not result.detected:
            return Faces.from_tracks(self.tracker.predict_only(index))
        dets = result.detections
        return Faces.from_tracks(self.tracker.update(dets.boxes, dets.scores, index))


def _write_outputs(results, item: InputFile, info, outputs: dict[str, Path], opts: AnnotateOptions,
                   report: FileReport, advance) -> None:
    """Write every result into the detection files and the rendered video. All outputs appear under
    their final names only when the whole stream was processed; otherwise nothing is left behind.
    Every output gets the same faces per frame (with tracking: carried boxes included), so the files
    count exactly what the render covered."""
    faces_of = _FrameFaces(opts, info)
    meta = {"source": str(item.path), "width": info.width, "height": info.height, "fps": info.fps,
            "threshold": opts.threshold, "every": opts.every}
    if faces_of.settings is not None:  # absent without tracking: those files stay exactly as before
        meta["tracker"] = asdict(faces_of.settings)
    render_settings = RenderSettings(draw_scores=opts.draw_scores, mask_scale=opts.mask_scale,
                                     draw_ids=opts.draw_ids)
    writers = {}
    try:
        writers = {fmt: WRITERS[fmt](outputs[fmt], meta) for fmt in opts.formats}
        with contextlib.ExitStack() as stack:
            video_tmp = stack.enter_context(atomic_path(outputs["video"])) if "video" in outputs else None
            video = None
            try:
                for result in _next_results(results):
                    faces, frame = faces_of(result), result.frame
                    if video_tmp is not None:
                        if video is None:
                            video = VideoWriter(video_tmp, info, shift=frame.time if opts.start else 0.0,
                                                start=opts.start, end=opts.end,
                                                audio_source=str(item.path) if opts.keep_audio else None)
                        video.write(render(frame.image, faces, opts.render, render_settings), frame.time)
                    for w in writers.values():
                        w.add(frame.index, frame.time, faces)
                    report.frames += 1
                    report.faces += len(faces)
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
