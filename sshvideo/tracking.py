"""Online multi-face tracking: detections of frame t in, tracks out (numpy + scipy only).

ByteTrack-style association (Zhang et al., ECCV 2022) on a SORT-style constant-velocity Kalman filter
(Bewley et al., ICIP 2016), written here from the papers:

1. confirmed tracks vs confident detections (score >= ``high_thresh``), Hungarian matching on IoU;
2. confirmed tracks still unmatched vs low-score detections (``low_thresh`` <= score < ``high_thresh``),
   at a stricter IoU: a weak box may continue a face (blur, turn, occlusion), never start one;
3. tentative tracks vs the confident detections left;
4. every confident detection still left starts a tentative track.

A tentative track is confirmed after ``min_hits`` hits in consecutive looked-at frames (at once in the
first ``min_hits`` frames of a video, so faces present from the start are tracked from the start) and
dropped on its first miss; a confirmed track is kept, and its predicted box output as ``carried``, for
``max_missed`` frames after its last confident hit.

What is output, so that tracking never hides a face that plain detection shows at the same threshold:
every detection >= ``high_thresh`` (with its track's id, tentative or confirmed), and for confirmed tracks
(with at least ``min_confident_share`` confident hits) the low-score detection that continued them or, when
nothing matched, their predicted box (``carried``).

Boxes are float32 xyxy in pixels, x2 = x1 + width, as ``core.inference.Detections``. Frame indices are
the pipeline's (numbered by timestamp), so a gap between two indices is elapsed time for the motion model.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from scipy.optimize import linear_sum_assignment

# Process noise per frame, as a fraction of the box's width (x, w) or height (y, h): SORT/ByteTrack's values.
_POSITION_NOISE = 1 / 20
_VELOCITY_NOISE = 1 / 160


@dataclass(frozen=True)
class TrackerSettings:
    """Tracker parameters; out-of-range values raise ``ValueError`` naming the field.

    Attributes:
        high_thresh: detections scoring at least this are shown and may start tracks (the user's ``--thresh``).
        low_thresh: detections in [low_thresh, high_thresh) may only continue a confirmed track. The detector
            must be run at a score threshold <= this for stage 2 to see them.
        match_iou: minimum IoU between a track's predicted box and a confident detection (stages 1 and 3).
        low_match_iou: minimum IoU for a low-score detection (stage 2): stricter, as in ByteTrack.
        min_hits: hits in consecutive looked-at frames that confirm a tentative track.
        max_missed: frames (of the index, detected or not) after its last confident hit that a confirmed track
            is kept, its predicted box output when unmatched; 0 keeps no track through a miss.
        smoothing: the detector's box jitter assumed by the Kalman filter, as a standard deviation relative
            to the box's width (x1, x2) or height (y1, y2). 0 outputs matched detections unchanged; larger
            values trust the motion model more and smooth more.
        max_edge_shift: smoothing never moves an edge of a matched box by more than this share of the
            detection's width/height. At 0.1 the render's 1.3 mask around the smoothed box still contains
            the whole detection (each side grows by 0.15 x (1 - 2 x 0.1) = 0.12 >= 0.1 of the size).
        min_confident_share: carried boxes and low-score boxes are output only for confirmed tracks matched
            by a confident detection in at least this share of the detected frames since their birth: a
            false positive that flickers around ``high_thresh`` is then shown only where plain detection shows
            it, while a steadily detected face is covered through its dips. 0 shows them for every confirmed
            track (most coverage, most false boxes).
    """

    high_thresh: float = 0.5
    low_thresh: float = 0.1
    match_iou: float = 0.2
    low_match_iou: float = 0.5
    min_hits: int = 3
    max_missed: int = 12
    smoothing: float = 0.05
    max_edge_shift: float = 0.1
    min_confident_share: float = 0.0

    def __post_init__(self):
        checks = [
            ("high_thresh", 0.0 <= self.high_thresh <= 1.0, "within [0, 1]"),
            ("low_thresh", 0.0 <= self.low_thresh <= self.high_thresh, f"within [0, high_thresh={self.high_thresh}]"),
            ("match_iou", 0.0 < self.match_iou <= 1.0, "within (0, 1]"),
            ("low_match_iou", 0.0 < self.low_match_iou <= 1.0, "within (0, 1]"),
            ("min_hits", self.min_hits >= 1, "at least 1"),
            ("max_missed", self.max_missed >= 0, "at least 0"),
            ("smoothing", self.smoothing >= 0.0, "at least 0"),
            ("max_edge_shift", 0.0 <= self.max_edge_shift <= 1.0, "within [0, 1]"),
            ("min_confident_share", 0.0 <= self.min_confident_share <= 1.0, "within [0, 1]"),
        ]
        for f in fields(self):  # ints must be ints (a 2.5-frame birth is a caller's bug), floats finite
            value = getattr(self, f.name)
            if f.type == "int" and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
                raise ValueError(f"tracker {f.name} must be an integer, got {value!r}")
            if f.type == "float" and not np.isfinite(value):
                raise ValueError(f"tracker {f.name} must be a finite number, got {value!r}")
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"tracker {name} must be {rule}, got {getattr(self, name)!r}")

    @classmethod
    def for_video(cls, thresh: float, fps: float | None, *, keep_seconds: float = 0.5, **overrides) -> TrackerSettings:
        """Settings for a video at ``fps`` (None or <= 0: 25 assumed) with ``high_thresh=thresh`` and lost
        tracks kept ``keep_seconds``."""
        fps = fps if fps and fps > 0 else 25.0
        return cls(**{"high_thresh": thresh, "low_thresh": min(cls.low_thresh, thresh),
                      "max_missed": max(0, round(keep_seconds * fps)), **overrides})


@dataclass(frozen=True)
class Tracks:
    """The tracker's output for one frame, K boxes sorted by score, descending (as ``Detections``).

    Attributes:
        boxes: float32 (K, 4) xyxy pixels: smoothed when matched, predicted when carried.
        scores: float32 (K,) the matched detection's score (may be below ``high_thresh`` for a low-score box
            that continued a confirmed track), or the track's last detection score when carried.
        ids: int64 (K,) track ids: 1, 2, ... in order of birth, never reused within a ``Tracker``.
        carried: bool (K,) True when no detection matched this track in this frame (a miss, or a frame
            that was not detected).
        confirmed: bool (K,) False for a tentative track's confident detection (possibly a one-frame false
            positive; shown because plain detection would show it).
    """

    boxes: np.ndarray
    scores: np.ndarray
    ids: np.ndarray
    carried: np.ndarray
    confirmed: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def empty() -> Tracks:
        return Tracks(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
                      np.zeros(0, bool), np.zeros(0, bool))


# ---------------------------------------------------------------------------------------------------------
# Box geometry and the Kalman filter. The filter's state per track is (cx, cy, w, h) and their velocities
# per frame. Process and measurement noise are diagonal and each velocity drives only its own coordinate, so
# the 8x8 covariance is four independent 2x2 blocks: ``cov`` (T, 4, 3) holds (var_pos, cov_pos_vel, var_vel)
# per coordinate, and predict/update are closed-form over all tracks at once.


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 -> (N, 4) centre x, centre y, width, height (float64)."""
    boxes = np.asarray(boxes, np.float64)
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


def cxcywh_to_xyxy(state: np.ndarray) -> np.ndarray:
    """(N, 4) centre x, centre y, width, height -> (N, 4) x1, y1, x2, y2 (float64)."""
    half = state[:, 2:4] / 2
    return np.concatenate([state[:, :2] - half, state[:, :2] + half], axis=1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), xyxy, continuous areas -> (N, M)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    # np.maximum(x, 0) and a product of the two sides rather than np.clip and np.prod: the same numbers, and this
    # runs on every frame for a handful of boxes, where numpy's per-call overhead is the cost.
    wh = np.maximum(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0)
    inter = wh[..., 0] * wh[..., 1]
    size_a, size_b = np.maximum(a[:, 2:] - a[:, :2], 0), np.maximum(b[:, 2:] - b[:, :2], 0)
    union = (size_a[:, 0] * size_a[:, 1])[:, None] + (size_b[:, 0] * size_b[:, 1])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(union), where=union > 0)


def _noise_scale(pos: np.ndarray) -> np.ndarray:
    """(T, 4) per-coordinate scale of the noise: width for cx and w, height for cy and h."""
    return pos[:, [2, 3, 2, 3]]


def kalman_init(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New tracks from measurements ``z`` (T, 4) cx, cy, w, h: position, zero velocity, and a covariance
    that is wide in velocity (unknown) -> pos (T, 4), vel (T, 4), cov (T, 4, 3)."""
    s = _noise_scale(z)
    cov = np.stack([(2 * _POSITION_NOISE * s) ** 2, np.zeros_like(s), (10 * _VELOCITY_NOISE * s) ** 2], axis=2)
    return z.astype(np.float64).copy(), np.zeros_like(z, np.float64), cov


def kalman_predict(pos: np.ndarray, vel: np.ndarray, cov: np.ndarray, dt: np.ndarray | float):
    """Advance by ``dt`` frames (scalar or (T,)) at constant velocity; process noise grows linearly with dt.
    Widths and heights are kept >= 1 px. Returns new (pos, vel, cov)."""
    dt = np.broadcast_to(np.asarray(dt, np.float64), pos.shape[:1])[:, None]
    s = _noise_scale(pos)
    p_pp, p_pv, p_vv = cov[..., 0], cov[..., 1], cov[..., 2]
    new_cov = np.stack([p_pp + 2 * dt * p_pv + dt ** 2 * p_vv + dt * (_POSITION_NOISE * s) ** 2,
                        p_pv + dt * p_vv,
                        p_vv + dt * (_VELOCITY_NOISE * s) ** 2], axis=2)
    new_pos = pos + dt * vel
    new_pos[:, 2:] = np.maximum(new_pos[:, 2:], 1.0)
    return new_pos, vel.copy(), new_cov


def kalman_update(pos: np.ndarray, vel: np.ndarray, cov: np.ndarray, z: np.ndarray, noise: float):
    """Correct (T, 4) states with measurements ``z`` (T, 4) whose std is ``noise`` x width/height.
    Returns new (pos, vel, cov)."""
    r = (noise * _noise_scale(z)) ** 2
    p_pp, p_pv, p_vv = cov[..., 0], cov[..., 1], cov[..., 2]
    s = p_pp + r
    k_p = np.divide(p_pp, s, out=np.ones_like(s), where=s > 0)  # zero variance everywhere: take the measurement
    k_v = np.divide(p_pv, s, out=np.zeros_like(s), where=s > 0)
    innovation = z - pos
    new_cov = np.stack([(1 - k_p) * p_pp, (1 - k_p) * p_pv, p_vv - k_v * p_pv], axis=2)
    new_pos = pos + k_p * innovation
    new_pos[:, 2:] = np.maximum(new_pos[:, 2:], 1.0)
    return new_pos, vel + k_v * innovation, new_cov


def clamp_to_detections(smoothed: np.ndarray, detections: np.ndarray, max_shift: float) -> np.ndarray:
    """Each edge of ``smoothed`` (N, 4) xyxy kept within ``max_shift`` x the width/height of its detection."""
    size = np.tile(detections[:, 2:] - detections[:, :2], 2)
    return np.clip(smoothed, detections - max_shift * size, detections + max_shift * size)


def match(iou: np.ndarray, min_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian assignment maximising total IoU over pairs with IoU >= ``min_iou``; (rows, cols) int arrays."""
    if iou.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Pairs below the gate get a cost no valid assignment can prefer, and are dropped afterwards.
    cost = np.where(iou >= min_iou, 1.0 - iou, 1e6)
    rows, cols = linear_sum_assignment(cost)
    keep = iou[rows, cols] >= min_iou
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


# ---------------------------------------------------------------------------------------------------------


@dataclass
class _State:
    """All live tracks as parallel arrays (T rows); rows are dropped together."""

    pos: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    vel: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 3)))
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # consecutive looked-at hits
    last_hit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # frame of the last confident hit
    score: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # last detection score
    confirmed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    shown: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # box output at the last hit
    last_seen: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # frame of the last match
    looks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # detected frames since birth
    confident_hits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    visible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # output at the last detected frame

    def keep(self, mask: np.ndarray) -> None:
        """Keep the rows where ``mask`` (bool (T,)) is True."""
        if mask.all():
            return
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[mask])

    def append(self, other: _State) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))


class Tracker:
    """Online face tracker for one video; see the module docstring for the association and what is output.

    Call ``update`` for every frame that was detected and ``predict_only`` for frames that were not (``--every
    N``), with increasing frame indices. On a seek, call ``reset``: tracks end, ids are not reused.

    Smoothing: each track's box is the Kalman filter's estimate of (cx, cy, w, h) under constant velocity,
    corrected by the matched detection with measurement noise ``smoothing`` x size; the output box is that
    estimate with each edge clamped to within ``max_edge_shift`` x size of the detection. A carried box is the
    filter's prediction (position moved by the velocity, size likewise), clipped to the frame if
    ``frame_size`` is given.
    """

    def __init__(self, settings: TrackerSettings | None = None, frame_size: tuple[int, int] | None = None):
        """``frame_size``: (width, height) in pixels, or None; with it, carried boxes are clipped to the frame
        and a track whose predicted box has left the frame is dropped."""
        self.settings = settings or TrackerSettings()
        self.frame_size = frame_size
        self._tracks = _State()
        self._next_id = 1
        self._distinct = 0
        self._frame: int | None = None  # last frame index seen (detected or not)
        self._frames_looked = 0  # detected frames since the start or the last reset
        self._last_look: int | None = None  # index of the last detected frame

    @property
    def distinct_faces(self) -> int:
        """Confirmed tracks so far (across resets): the viewer's 'distinct faces' count."""
        return self._distinct

    def reset(self) -> None:
        """Forget every track (a seek or a new source); ids keep counting up, ``distinct_faces`` is kept."""
        self._tracks = _State()
        self._frame = None
        self._frames_looked = 0
        self._last_look = None

    def retune(self, settings: TrackerSettings) -> None:
        """Go on with other settings (the viewer's threshold slider): tracks end as on a seek (``reset``),
        ids and ``distinct_faces`` keep counting."""
        self.settings = settings
        self.reset()

    def update(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int) -> Tracks:
        """Associate the detections of a detected frame and return the tracks to show in it.

        Args:
            boxes: (N, 4) xyxy pixels, any float dtype; detections below ``low_thresh`` are ignored, so the
                detector's full output may be passed.
            scores: (N,) detection scores.
            frame_index: this frame's index, greater than the previous call's.
        """
        st = self.settings
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        if len(boxes) != len(scores):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        self._advance(frame_index)
        self._frames_looked += 1
        self._last_look, last_look = frame_index, self._last_look
        tracks = self._tracks

        candidates = np.flatnonzero(scores >= st.low_thresh)
        boxes, scores = boxes[candidates], scores[candidates]
        high = scores >= st.high_thresh  # (N,) still unmatched confident detections
        iou = iou_matrix(cxcywh_to_xyxy(tracks.pos), boxes)  # (T, N) predicted boxes vs detections
        free = np.ones(len(tracks.ids), bool)  # (T,) tracks still unmatched
        pairs = []  # (track rows, detection columns) per stage

        def associate(track_mask: np.ndarray, det_mask: np.ndarray, min_iou: float) -> None:
            tr, dc = np.flatnonzero(track_mask), np.flatnonzero(det_mask)
            if len(tr) == 0 or len(dc) == 0:
                return
            r, c = match(iou[tr][:, dc], min_iou)
            free[tr[r]] = False
            high[dc[c]] = False
            pairs.append((tr[r], dc[c]))

        associate(free & tracks.confirmed, high, st.match_iou)
        # Stage 2 only for tracks matched at the previous detected frame (ByteTrack's rule): a weak box next to
        # a track already lost is more likely clutter than the face coming back.
        associate(free & tracks.confirmed & (tracks.last_seen == last_look), ~high & (scores < st.high_thresh),
                  st.low_match_iou)
        associate(free & ~tracks.confirmed, high, st.match_iou)

        rows = np.concatenate([r for r, _ in pairs]) if pairs else np.zeros(0, np.int64)
        cols = np.concatenate([c for _, c in pairs]) if pairs else np.zeros(0, np.int64)
        z = xyxy_to_cxcywh(boxes[cols])
        tracks.pos[rows], tracks.vel[rows], tracks.cov[rows] = kalman_update(
            tracks.pos[rows], tracks.vel[rows], tracks.cov[rows], z, st.smoothing)
        tracks.shown[rows] = clamp_to_detections(cxcywh_to_xyxy(tracks.pos[rows]), boxes[cols], st.max_edge_shift)
        tracks.score[rows] = scores[cols]
        confident = scores[cols] >= st.high_thresh
        tracks.last_hit[rows[confident]] = frame_index
        tracks.last_seen[rows] = frame_index
        hit = np.zeros(len(tracks.ids), bool)
        hit[rows] = True
        tracks.looks += 1
        tracks.confident_hits[rows[confident]] += 1
        tracks.hits = np.where(hit, tracks.hits + 1, 0)
        newly = ~tracks.confirmed & (tracks.hits >= st.min_hits)
        tracks.confirmed |= newly
        self._distinct += int(newly.sum())

        # Tentative tracks die on their first miss; confirmed ones max_missed frames after their last confident
        # hit: low-score boxes bridge a dip in confidence as carried boxes bridge a miss, but cannot keep a
        # track (often a false positive hovering near the threshold) alive on their own.
        alive = np.where(tracks.confirmed, frame_index - tracks.last_hit <= st.max_missed, hit)
        alive &= self._inside(tracks)
        tracks.keep(alive)
        self._start_tracks(boxes[high], scores[high], frame_index)
        hit_now = np.concatenate([hit[alive], np.ones(int(high.sum()), bool)])
        t = self._tracks
        weak = ~hit_now | (t.score < st.high_thresh)  # carried, or continued by a low-score box
        reliable = t.confident_hits >= st.min_confident_share * t.looks
        t.visible = ~weak | (t.confirmed & reliable)
        return self._output(hit_now)

    def predict_only(self, frame_index: int) -> Tracks:
        """The tracks of a frame that was not detected: every track the last detected frame showed, moved by
        its motion, ``carried``. Nothing is born, confirmed or dropped on a frame nobody looked at."""
        self._advance(frame_index)
        return self._output(np.zeros(len(self._tracks.ids), bool))

    # -- internals -----------------------------------------------------------------------------------------

    def _advance(self, frame_index: int) -> None:
        frame_index = int(frame_index)
        if self._frame is not None and frame_index <= self._frame:
            raise ValueError(f"frame index {frame_index} does not follow {self._frame}: call reset() after a seek")
        if self._frame is not None and len(self._tracks.ids):
            t = self._tracks
            t.pos, t.vel, t.cov = kalman_predict(t.pos, t.vel, t.cov, frame_index - self._frame)
        self._frame = frame_index

    def _inside(self, tracks: _State) -> np.ndarray:
        """(T,) bool: the predicted box still overlaps the frame (all True without a frame size)."""
        if self.frame_size is None:
            return np.ones(len(tracks.ids), bool)
        w, h = self.frame_size
        b = cxcywh_to_xyxy(tracks.pos)
        return (b[:, 0] < w) & (b[:, 1] < h) & (b[:, 2] > 0) & (b[:, 3] > 0)

    def _start_tracks(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int) -> None:
        n = len(boxes)
        if n == 0:
            return
        pos, vel, cov = kalman_init(xyxy_to_cxcywh(boxes))
        # Faces already there when the video starts are confirmed at once: waiting min_hits frames would only
        # delay their ids, and they cannot be a track's flicker because no track existed before.
        confirmed = np.full(n, self._frames_looked < self.settings.min_hits or self.settings.min_hits == 1)
        self._distinct += int(confirmed.sum())
        ones = np.ones(n, np.int64)
        self._tracks.append(_State(pos, vel, cov, np.arange(self._next_id, self._next_id + n, dtype=np.int64), ones,
                                   np.full(n, frame_index, np.int64), scores.astype(np.float32), confirmed,
                                   boxes.astype(np.float64), np.full(n, frame_index, np.int64), ones, ones,
                                   np.ones(n, bool)))
        self._next_id += n

    def _output(self, hit_now: np.ndarray) -> Tracks:
        """The tracks marked ``visible`` at the last detected frame: those hit in this frame with their
        smoothed boxes, the others with their predicted boxes, ``carried``."""
        t = self._tracks
        boxes = np.where(hit_now[:, None], t.shown, cxcywh_to_xyxy(t.pos))
        if self.frame_size is not None:
            w, h = self.frame_size
            boxes = np.clip(boxes, 0, [w, h, w, h])
        show = np.flatnonzero(t.visible)
        order = show[np.lexsort((t.ids[show], -t.score[show]))]
        return Tracks(boxes[order].astype(np.float32), t.score[order].astype(np.float32), t.ids[order].copy(),
                      ~hit_now[order], t.confirmed[order].copy())
