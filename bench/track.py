"""Tracking benchmark on synthetic camera moves over labelled WIDER FACE stills (issue 21).

    nice -n 5 python bench/track.py [--clips 8] [--seconds 6] [--thresh 0.5] [--seed 0]

Clips: a virtual 640x480, 25 fps camera pans and zooms along a smooth random path over each of --clips
stills from ../shared/data/wider/val (a seeded choice among stills with several faces of various sizes).
Each frame is the still under one affine map (scale + shift) and the WIDER boxes move with it, so every face
is a track with exact ground truth (id = its index in the still). Clips are H.264 (PyAV) with their ground
truth in MOT format, cached in runs/track_bench/ (not committed); the detector sees the decoded video.

Each clip is annotated twice end to end by ``sshvideo.annotate.annotate_file`` (capture thread, detection
worker, JSON Lines writer), as ``sshvideo annotate --no-track`` (the detector at --thresh) and ``--track``
(the detector at the tracker's low threshold, the tracker's output written), and the JSON Lines are read
back. The two runs alternate in order from clip to clip (plain first on even clips, tracked first on odd
ones) so that both see the same load on this shared machine.

Metrics, on ground-truth faces at least --min-height px high with at least half their box inside the frame
("evaluated"; smaller or mostly outside faces are ignored: an output box on one is neither a hit nor a false
box):
- MOTA, IDF1, ID switches (motmetrics, IoU >= 0.5). Plain detection has no ids, so it gets MODA
  (1 - (misses + false positives) / faces), the same count without the identity term.
- leak: share of evaluated face appearances that no blur mask covers, a mask being an output box grown
  about its centre by the render's mask scale 1.3 and clipped to the frame, and covering meaning at least
  80 % of the face's box (clipped to the frame) inside one mask.
- false boxes per frame: output boxes with IoU < 0.3 against every ground-truth face of that frame (any
  size, ignored ones included).
- fps: frames / seconds of the whole ``annotate_file`` call (decode, detect, track, write), as annotate's
  summary reports it. The paired timing line below the table is detection (+ tracking) alone, frame by frame.

Two bounds show how much of the result is the tracker's and how much the detector's:
- "tracked + GT judge" (a third row per clip, and the ceiling line): the tracked output with every carried or
  low-score box kept only where it overlaps a ground-truth face. A rule that only decides which weak boxes to
  show (a score rule, a face classifier) can leak less with these detections only through false boxes.
- faces that plain detection covers in no frame of their clip: a tracker has no detection of them to extend
  and covers them only by chance (another box's mask, a false box), so this share is a rough floor for the leak
  rate (not a bound).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
VAL = REPO.parent / "shared" / "data" / "wider" / "val"
CACHE = REPO / "runs" / "track_bench"
SIZE = (640, 480)  # output width, height
FPS = 25
MASK_SCALE = 1.3  # the renderers' default --mask-scale
COVER_SHARE = 0.8
FALSE_IOU = 0.3
MATCH_IOU = 0.5
JUDGED = "tracked + GT judge"  # the ceiling row: see judged_by_ground_truth


@dataclass(frozen=True)
class Clip:
    """A cached clip: ``video`` (H.264 .mp4) and ``gt`` (MOT: frame, id, x, y, w, h, evaluated 1/0, -1, visibility)."""

    name: str
    video: Path
    gt: Path


@dataclass
class RunOutput:
    """Per frame: boxes float (K, 4) xyxy pixels and ids int (K,) (-1 where the method has no ids)."""

    boxes: list[np.ndarray]
    ids: list[np.ndarray]
    seconds: float  # the whole annotate_file call
    weak: list[np.ndarray] | None = None  # per frame bool (K,): carried, or a low-score box continuing a track


Runner = Callable[[Clip], RunOutput]


# -- clips ---------------------------------------------------------------------------------------------------


def choose_stills(count: int, seed: int):
    """``count`` WIDER val stills with 3-30 valid faces of which at least 3 are >= 24 px high and one >= 60 px
    (so zooming shows faces of several sizes); a seeded choice, stable for a given label file, in which fewer
    clips are a subset of more."""
    from training.wider import read_wider_labels

    samples = read_wider_labels(VAL / "labels.txt", VAL / "images")  # invalid faces: kept, ignored
    good = []
    for s in sorted(samples, key=lambda s: str(s.source)):
        heights = (s.boxes[:, 3] - s.boxes[:, 1])[~s.invalid]
        if 3 <= len(heights) <= 30 and (heights >= 24).sum() >= 3 and heights.max() >= 60:
            good.append(s)
    rng = np.random.default_rng(seed)
    return [good[i] for i in sorted(rng.permutation(len(good))[:count])]  # --clips n: a prefix of n + 1's


def smooth_path(rng: np.random.Generator, t: np.ndarray, max_hz: float) -> np.ndarray:
    """A smooth random curve in [0, 1] over times ``t`` (s): three sinusoids of random frequency and phase."""
    freqs = rng.uniform(0.03, max_hz, 3)
    amps = rng.uniform(0.5, 1.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    x = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None])).sum(0)
    return 0.5 + 0.5 * x / amps.sum()


def camera_moves(rng: np.random.Generator, frames: int, image_size: tuple[int, int], faces: np.ndarray) -> np.ndarray:
    """(frames, 3) zoom z (output px per image px), and the image point cx, cy at the output's centre.
    The zoom spans 1-2.2x the zoom that just fills the output; the centre wanders over the span of the
    faces (xyxy, image px) so that they stay mostly in view, and the view stays inside the image."""
    (iw, ih), (ow, oh) = image_size, SIZE
    t = np.arange(frames) / FPS
    z_fit = max(ow / iw, oh / ih)
    z = z_fit * (1 + 1.2 * smooth_path(rng, t, 0.15))
    centre = []
    for axis, (size, half) in enumerate([(iw, ow / (2 * z)), (ih, oh / (2 * z))]):
        lo = np.clip(faces[:, axis].min(), half, size - half)
        hi = np.clip(faces[:, axis + 2].max(), half, size - half)
        centre.append(lo + (hi - lo) * smooth_path(rng, t, 0.25))
    return np.stack([z, *centre], axis=1)


def move_boxes(boxes: np.ndarray, z: float, cx: float, cy: float) -> np.ndarray:
    """Image xyxy boxes (M, 4) -> output pixels under the camera (z, cx, cy)."""
    shift = np.array([SIZE[0] / 2 - z * cx, SIZE[1] / 2 - z * cy] * 2)
    return boxes * z + shift


def make_clip(sample, index: int, seconds: float, seed: int, min_height: float) -> Clip:
    """Write the MOT ground truth of one still's clip, and render its video unless it is cached."""
    import av
    import cv2

    name = f"{index:02d}_{Path(sample.source).stem}"
    tag = f"{name}_{seconds:g}s_seed{seed}_v2"  # v2: the camera follows the faces
    clip = Clip(name, CACHE / f"{tag}.mp4", CACHE / f"{tag}_min{min_height:g}.gt.txt")
    CACHE.mkdir(parents=True, exist_ok=True)
    image = cv2.cvtColor(cv2.imread(str(sample.source)), cv2.COLOR_BGR2RGB)
    moves = camera_moves(np.random.default_rng([seed, index]), round(seconds * FPS), (image.shape[1], image.shape[0]),
                         sample.boxes[~sample.invalid])
    clip.gt.write_text(ground_truth(sample, moves, min_height))
    if clip.video.is_file():
        return clip
    tmp = clip.video.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for z, cx, cy in moves:
            m = np.array([[z, 0, SIZE[0] / 2 - z * cx], [0, z, SIZE[1] / 2 - z * cy]])
            frame = cv2.warpAffine(image, m, SIZE, flags=cv2.INTER_AREA if z < 1 else cv2.INTER_LINEAR)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(clip.video)
    return clip


def ground_truth(sample, moves: np.ndarray, min_height: float) -> str:
    """MOT lines (1-based frames, id = 1 + the face's index in the still) for every face at least partly in
    view, clipped to the frame; evaluated (7th field 1) when at least ``min_height`` px high, at least half
    inside the frame and not WIDER-invalid, else 0 (ignored)."""
    rows = []
    for f, (z, cx, cy) in enumerate(moves):
        boxes = move_boxes(sample.boxes.astype(np.float64), z, cx, cy)
        clipped = np.clip(boxes, 0, [SIZE[0], SIZE[1]] * 2)
        area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
        visible = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1) / area
        for face in np.flatnonzero(visible > 0):
            x1, y1, x2, y2 = clipped[face]
            evaluated = int(boxes[face, 3] - boxes[face, 1] >= min_height and visible[face] >= 0.5
                            and not sample.invalid[face])
            rows.append(f"{f + 1},{face + 1},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{evaluated},-1,"
                        f"{visible[face]:.3f}")
    return "\n".join(rows) + "\n"


def read_gt(clip: Clip, frames: int) -> list[dict[str, np.ndarray]]:
    """Per frame: ids (M,), boxes (M, 4) xyxy, evaluated (M,) bool."""
    data = np.loadtxt(clip.gt, delimiter=",", ndmin=2)
    out = []
    for f in range(1, frames + 1):
        rows = data[data[:, 0] == f]
        boxes = rows[:, 2:6].copy()
        boxes[:, 2:] += boxes[:, :2]
        out.append({"ids": rows[:, 1].astype(np.int64), "boxes": boxes, "evaluated": rows[:, 6] > 0})
    return out


def decode(clip: Clip) -> list[np.ndarray]:
    import av

    with av.open(str(clip.video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# -- runners: a clip in, per-frame boxes with ids out ----------------------------------------------------------


def annotate_runner(detector, thresh: float, track: bool, tracker: dict | None = None, every: int = 1) -> Runner:
    """``sshvideo annotate --track/--no-track --format jsonl`` on a clip through ``annotate_file`` (the detector
    must keep scores down to the options' ``detection_threshold``); per-frame boxes and ids (-1 untracked) are
    read back from the JSON Lines. Timed: the whole call, as annotate's summary."""
    from sshvideo.annotate import AnnotateOptions, annotate_file
    from sshvideo.inputs import InputFile

    def run(clip: Clip) -> RunOutput:
        with tempfile.TemporaryDirectory(prefix="track_bench_") as out:
            opts = AnnotateOptions(out_dir=Path(out), threshold=thresh, track=track, tracker=dict(tracker or {}),
                                   every=every)
            report = annotate_file(detector, InputFile(clip.video, Path(clip.video.name)), opts)
            if report.failed:
                raise RuntimeError(report.message)
            lines = (Path(out) / f"{clip.video.stem}.jsonl").read_text().splitlines()[1:]
        frames = {}
        for line in lines:
            record = json.loads(line)
            faces = record["faces"]
            frames[record["frame"]] = (np.array([f["box"] for f in faces], np.float64).reshape(-1, 4),
                                       np.array([f.get("track", -1) for f in faces], np.int64),
                                       np.array([f.get("carried", False) or f["score"] < thresh for f in faces], bool))
        count = max(frames) + 1 if frames else 0
        empty = (np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, bool))
        per_frame = [frames.get(f, empty) for f in range(count)]
        return RunOutput([b for b, _, _ in per_frame], [i for _, i, _ in per_frame], report.seconds,
                         [w for _, _, w in per_frame])

    return run


def paired_timing(clip: Clip, plain, tracked, settings) -> tuple[float, float, float]:
    """Median ms per frame of plain detection and of detection + tracking, alternating frame by frame so that
    both see the same load (this machine's cores are shared), and of the tracker alone."""
    from sshvideo.tracking import Tracker

    frames = decode(clip)
    tracker = Tracker(settings, frame_size=SIZE)
    plain.detect([frames[0]])
    tracked.detect([frames[0]])
    times = np.zeros((len(frames), 3))
    for index, frame in enumerate(frames):
        t0 = time.perf_counter()
        plain.detect([frame])
        t1 = time.perf_counter()
        [dets] = tracked.detect([frame])
        t2 = time.perf_counter()
        tracker.update(dets.boxes, dets.scores, index)
        t3 = time.perf_counter()
        times[index] = t1 - t0, t3 - t1, t3 - t2
    return tuple(1000 * np.median(times, axis=0))


# -- metrics -------------------------------------------------------------------------------------------------


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from sshvideo.tracking import iou_matrix

    return iou_matrix(a.reshape(-1, 4), b.reshape(-1, 4))


def grow(boxes: np.ndarray, scale: float) -> np.ndarray:
    """Boxes grown about their centre and clipped to the frame, as the renderers' masks."""
    centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2 * scale
    return np.clip(np.concatenate([centre - half, centre + half], axis=1), 0, [SIZE[0], SIZE[1]] * 2)


def covered(faces: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(M,) bool: at least COVER_SHARE of each face box lies inside one mask."""
    if len(masks) == 0:
        return np.zeros(len(faces), bool)
    lt = np.maximum(faces[:, None, :2], masks[None, :, :2])
    rb = np.minimum(faces[:, None, 2:], masks[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.prod(faces[:, 2:] - faces[:, :2], axis=1)
    return (inter >= COVER_SHARE * area[:, None]).any(axis=1)


def masked(faces: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(M,) bool: each face box (M, 4) lies inside the blur mask of one output box (K, 4): not leaked."""
    return covered(faces, grow(boxes, MASK_SCALE))


def on_a_face(overlap: np.ndarray) -> np.ndarray:
    """(K,) bool from the IoU (K, M) of K output boxes with a frame's M ground-truth faces (any size, ignored
    ones included): the box overlaps one by at least FALSE_IOU, else it is a false box."""
    return overlap.max(axis=1, initial=0) >= FALSE_IOU


def evaluate(gt: list[dict], run: RunOutput) -> tuple[dict, object]:
    """Leak and false-box counts, and a motmetrics accumulator, for one clip."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    faces = leaks = false_boxes = 0
    for f, (g, boxes, ids) in enumerate(zip(gt, run.boxes, run.ids)):
        ev = g["evaluated"]
        faces += int(ev.sum())
        leaks += int((~masked(g["boxes"][ev], boxes)).sum())
        overlap = iou(boxes, g["boxes"])
        false_boxes += int((~on_a_face(overlap)).sum())
        # Boxes on an ignored face (overlapping it more than any evaluated one) leave the MOT count.
        best_ignored = np.where(~ev[None, :], overlap, 0).max(axis=1, initial=0)
        best_evaluated = np.where(ev[None, :], overlap, 0).max(axis=1, initial=0)
        keep = ~((best_ignored >= FALSE_IOU) & (best_ignored > best_evaluated))
        hyp_ids = np.where(ids[keep] >= 0, ids[keep], 1_000_000 * (f + 1) + np.arange(keep.sum()))
        dist = 1 - iou(g["boxes"][ev], boxes[keep])
        dist[dist > 1 - MATCH_IOU] = np.nan
        acc.update(g["ids"][ev], hyp_ids, dist)
    return {"frames": len(gt), "faces": faces, "leaks": leaks, "false": false_boxes, "seconds": run.seconds}, acc


def judged_by_ground_truth(gt: list[dict], run: RunOutput) -> RunOutput:
    """``run`` with each weak box (carried, or a low-score box continuing a track) kept only where it overlaps a
    ground-truth face of its frame (IoU >= FALSE_IOU, ignored faces included): what a perfect judge of weak boxes
    would show. Its false boxes are the confident ones alone (the tracker's smoothed boxes: about plain
    detection's); a rule that only hides weak boxes (a score rule, a face classifier, ...) can leak less than
    this, with this tracker's association and these detections, only through false boxes that happen to cover
    faces. A ceiling for such rules on top of the tracker's own: with ``min_confident_share`` > 0 the tracker has
    already hidden some weak boxes."""
    if run.weak is None:
        raise ValueError("the run has no weak-box flags (a tracked annotate run read back by annotate_runner)")
    boxes, ids, weak = [], [], []
    for g, b, i, w in zip(gt, run.boxes, run.ids, run.weak, strict=True):
        w = np.asarray(w, bool)
        keep = ~w | on_a_face(iou(b, g["boxes"]))
        boxes.append(b[keep])
        ids.append(i[keep])
        weak.append(w[keep])
    return RunOutput(boxes, ids, run.seconds, weak)


def never_covered(gt: list[dict], run: RunOutput) -> int:
    """Evaluated appearances of the faces that ``run`` (plain detection) covers in no frame of the clip, evaluated
    or not: a tracker has no detection of them to extend, so it covers them only by chance (another face's
    box grown into a mask, or a false box): a rough floor for the leak rate, not a bound."""
    appearances, covered_once = {}, set()
    for g, boxes in zip(gt, run.boxes, strict=True):
        covered_once.update(int(face) for face in g["ids"][masked(g["boxes"], boxes)])
        for face in g["ids"][g["evaluated"]]:
            appearances[int(face)] = appearances.get(int(face), 0) + 1
    return sum(n for face, n in appearances.items() if face not in covered_once)


def mot_summary(accs: list, names: list[str]):
    import motmetrics as mm

    metrics = ["mota", "idf1", "num_switches", "num_misses", "num_false_positives", "num_objects"]
    return mm.metrics.create().compute_many(accs, metrics=metrics, names=names, generate_overall=True)


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--thresh", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-height", type=float, default=24.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--every", type=int, default=1, help="annotate --every N (detect every N-th frame)")
    parser.add_argument("--min-confident-share", type=float, default=None,
                        help="override the tracker's default (0 = most coverage; 0.8 = fewest extra false boxes)")
    parser.add_argument("--track-keep", type=float, default=None,
                        help="override the seconds a lost track is kept (annotate --track-keep; default 0.5)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import torch

    torch.set_num_threads(args.threads)
    from sshvideo.models import load_detector
    from sshvideo.tracking import TrackerSettings

    overrides = {} if args.min_confident_share is None else {"min_confident_share": args.min_confident_share}
    if args.track_keep is not None:
        overrides["keep_seconds"] = args.track_keep
    settings = TrackerSettings.for_video(args.thresh, FPS, **overrides)
    plain_detector = load_detector(None, threshold=args.thresh)
    tracked_detector = load_detector(None, threshold=settings.low_thresh)
    runners = {"plain": annotate_runner(plain_detector, args.thresh, False, every=args.every),
               "tracked": annotate_runner(tracked_detector, args.thresh, True, overrides, every=args.every)}
    print(f"tracker: {settings}")
    stills = choose_stills(args.clips, args.seed)
    modes = [*runners, JUDGED]
    counts = {m: [] for m in modes}
    accs = {m: [] for m in modes}
    names = []
    never_count = 0
    warm = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    plain_detector.detect([warm])  # warm-up outside the timed runs
    tracked_detector.detect([warm])
    for i, sample in enumerate(stills):
        clip = make_clip(sample, i, args.seconds, args.seed, args.min_height)
        gt = read_gt(clip, round(args.seconds * FPS))
        names.append(clip.name)
        outputs = {}
        for mode in (list(runners) if i % 2 == 0 else list(runners)[::-1]):  # alternate who runs first
            outputs[mode] = runners[mode](clip)
        for mode in runners:
            if len(outputs[mode].boxes) != len(gt):
                raise RuntimeError(f"{clip.name}: {len(outputs[mode].boxes)} frames annotated, {len(gt)} in the "
                                   "ground truth")
        outputs[JUDGED] = judged_by_ground_truth(gt, outputs["tracked"])
        never_count += never_covered(gt, outputs["plain"])
        for mode in modes:
            c, acc = evaluate(gt, outputs[mode])
            counts[mode].append(c)
            accs[mode].append(acc)
        print(f"{clip.name}: done", flush=True)

    plain_ms, tracked_ms, track_ms = paired_timing(
        make_clip(stills[0], 0, args.seconds, args.seed, args.min_height),
        plain_detector, tracked_detector, settings)
    summaries = {m: mot_summary(accs[m], names) for m in modes}
    rows = []
    pooled = {}
    for mode in modes:
        total = {k: sum(c[k] for c in counts[mode]) for k in counts[mode][0]}
        pooled[mode] = total
        for name, c in zip(names + ["OVERALL"], counts[mode] + [total]):
            s = summaries[mode].loc[name]
            moda = 1 - (s.num_misses + s.num_false_positives) / max(s.num_objects, 1)
            tracked = mode != "plain"
            rows.append([name, mode, c["faces"], f"{c['leaks'] / max(c['faces'], 1):.3f}",
                         f"{c['false'] / c['frames']:.3f}", f"{moda:.3f}",
                         f"{s.mota:.3f}" if tracked else "–", f"{s.idf1:.3f}" if tracked else "–",
                         int(s.num_switches) if tracked else "–",
                         f"{c['frames'] / c['seconds']:.1f}" if mode in runners else "–"])
    rows.sort(key=lambda r: (r[0] == "OVERALL", r[0], r[1]))
    print(table(["clip", "mode", "faces", "leak", "false/frame", "MODA", "MOTA", "IDF1", "IDsw", "fps"],
                rows))
    p, t = pooled["plain"], pooled["tracked"]
    leak_p, leak_t = p["leaks"] / p["faces"], t["leaks"] / t["faces"]
    false_p, false_t = p["false"] / p["frames"], t["false"] / t["frames"]
    print(f"\nleak {leak_p:.3f} -> {leak_t:.3f} ({100 * (leak_t / leak_p - 1):+.0f} %, bar <= -25 %); "
          f"false boxes/frame {false_p:.3f} -> {false_t:.3f} ({100 * (false_t / max(false_p, 1e-9) - 1):+.0f} %, "
          f"bar <= +10 %); IDF1 {summaries['tracked'].loc['OVERALL'].idf1:.3f} (bar >= 0.6); "
          f"fps {p['frames'] / p['seconds']:.1f} -> {t['frames'] / t['seconds']:.1f} "
          f"({100 * (t['frames'] / t['seconds'] / (p['frames'] / p['seconds']) - 1):+.0f} %, bar >= -10 %)")
    judged = pooled[JUDGED]
    leak_j, false_j = judged["leaks"] / judged["faces"], judged["false"] / judged["frames"]
    leak_never = never_count / p["faces"]
    print(f"ceiling, weak boxes judged by the GT: leak {leak_j:.3f} ({100 * (leak_j / leak_p - 1):+.0f} %), "
          f"false boxes/frame {false_j:.3f} ({100 * (false_j / max(false_p, 1e-9) - 1):+.0f} %); faces plain "
          f"detection covers in no frame of their clip: {leak_never:.3f} of appearances "
          f"({100 * (leak_never / leak_p - 1):+.0f} %)")
    print(f"paired timing on {names[0]}, median per frame: detect {plain_ms:.2f} ms, detect at the low threshold "
          f"+ track {tracked_ms:.2f} ms ({100 * (plain_ms / tracked_ms - 1):+.0f} % fps), tracker alone {track_ms:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
