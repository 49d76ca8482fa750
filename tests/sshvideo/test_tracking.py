import numpy as np
import pytest

from sshvideo.tracking import (
    Tracker,
    TrackerSettings,
    Tracks,
    iou_matrix,
    kalman_init,
    kalman_predict,
    match,
)


def box(x, y, w=40, h=50):
    return [x, y, x + w, y + h]


def step(tracker, boxes, scores, frame):
    return tracker.update(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32), frame)


def by_id(tracks: Tracks) -> dict[int, tuple[np.ndarray, float, bool]]:
    return {int(i): (b, float(s), bool(c)) for i, b, s, c in zip(tracks.ids, tracks.boxes, tracks.scores, tracks.carried)}


def test_two_boxes_that_cross_keep_their_ids():
    tracker = Tracker()
    seen = []
    for f in range(30):
        a, b = box(20 + 10 * f, 100), box(320 - 10 * f, 110)  # they pass each other around f = 15
        out = by_id(step(tracker, [a, b], [0.9, 0.8], f))
        # who is where: the id whose box is left of the other's before the crossing must be right after it
        seen.append({i: v[0][0] for i, v in out.items()})
    assert all(set(s) == {1, 2} for s in seen)
    assert seen[0][1] < seen[0][2] and seen[-1][1] > seen[-1][2]
    assert tracker.distinct_faces == 2


def test_a_box_missing_for_two_frames_is_carried_along_its_velocity_and_keeps_its_id():
    tracker = Tracker()
    for f in range(15):
        out = step(tracker, [box(100 + 8 * f, 50)], [0.9], f)
    last_x = out.boxes[0, 0]
    for f in (15, 16):
        out = step(tracker, [], [], f)
        assert out.ids.tolist() == [1] and out.carried.tolist() == [True]
        assert out.scores[0] == pytest.approx(0.9)
        assert out.boxes[0, 0] == pytest.approx(100 + 8 * f, abs=3.0)  # moved on at ~8 px/frame
        assert out.boxes[0, 0] > last_x
        last_x = out.boxes[0, 0]
    out = step(tracker, [box(100 + 8 * 17, 50)], [0.85], 17)
    assert out.ids.tolist() == [1] and out.carried.tolist() == [False] and out.scores[0] == pytest.approx(0.85)


def test_a_lost_track_is_dropped_after_max_missed_frames_and_its_id_never_comes_back():
    tracker = Tracker(TrackerSettings(max_missed=3))
    for f in range(5):
        step(tracker, [box(100, 100)], [0.9], f)
    for f in range(5, 8):
        assert step(tracker, [], [], f).ids.tolist() == [1]  # 1, 2, 3 frames since the last hit
    assert len(step(tracker, [], [], 8)) == 0
    out = step(tracker, [box(100, 100)], [0.9], 9)  # the same place again: a new face, a new id
    assert out.ids.tolist() == [2] and not out.confirmed[0]


def test_low_score_boxes_continue_a_track_but_never_start_one():
    tracker = Tracker(TrackerSettings(high_thresh=0.5, low_thresh=0.1))
    assert len(step(tracker, [box(300, 300)], [0.3], 0)) == 0  # alone, a weak box shows nothing
    for f in range(1, 5):
        step(tracker, [box(100 + 4 * f, 100)], [0.9], f)
    out = step(tracker, [box(120, 100), box(300, 300)], [0.3, 0.3], 5)
    assert out.ids.tolist() == [1] and out.carried.tolist() == [False] and out.scores[0] == pytest.approx(0.3)
    assert tracker.distinct_faces == 1


def test_low_score_boxes_continue_only_a_track_matched_in_the_previous_detected_frame():
    tracker = Tracker()
    for f in range(4):
        step(tracker, [box(100, 100)], [0.9], f)
    assert step(tracker, [], [], 4).carried.tolist() == [True]
    out = step(tracker, [box(100, 100)], [0.3], 5)  # the track was lost at frame 4: a weak box does not revive it
    assert out.carried.tolist() == [True]
    out = step(tracker, [box(100, 100)], [0.9], 6)
    assert out.ids.tolist() == [1] and out.carried.tolist() == [False]


def test_low_score_boxes_must_overlap_more_than_confident_ones():
    tracker = Tracker(TrackerSettings(match_iou=0.2, low_match_iou=0.5))
    for f in range(4):
        step(tracker, [box(100, 100)], [0.9], f)
    shifted = box(125, 100)  # IoU ~0.23 with the track's box
    out = step(tracker, [shifted], [0.3], 4)
    assert out.carried.tolist() == [True]
    out = step(tracker, [shifted], [0.9], 5)
    assert out.ids.tolist() == [1] and out.carried.tolist() == [False]


def test_a_one_frame_false_positive_is_shown_once_never_confirmed_never_carried():
    tracker = Tracker(TrackerSettings(min_hits=3))
    for f in range(5):
        step(tracker, [box(100, 100)], [0.9], f)
    out = step(tracker, [box(100, 100), box(400, 300)], [0.9, 0.7], 5)
    spurious = by_id(out)
    assert set(spurious) == {1, 2} and not out.confirmed[out.ids == 2][0]
    for f in range(6, 6 + 20):
        out = step(tracker, [box(100, 100)], [0.9], f)
        assert out.ids.tolist() == [1]
    assert tracker.distinct_faces == 1


def test_a_new_face_is_confirmed_after_min_hits_and_faces_present_at_the_start_at_once():
    tracker = Tracker(TrackerSettings(min_hits=3))
    out = step(tracker, [box(100, 100)], [0.9], 0)
    assert out.confirmed.tolist() == [True]
    for f in range(1, 5):
        step(tracker, [box(100, 100)], [0.9], f)
    confirmed = [bool(step(tracker, [box(100, 100), box(400, 300)], [0.9, 0.9], f).confirmed[1]) for f in range(5, 8)]
    assert confirmed == [False, False, True]
    assert tracker.distinct_faces == 2


def test_ids_are_never_reused_even_after_reset():
    tracker = Tracker(TrackerSettings(max_missed=1))
    all_ids = []
    for f in range(40):
        # a face that blinks in and out every few frames at a new place each time
        boxes = [box(50 * (f // 3), 100)] if f % 3 else []
        all_ids += step(tracker, boxes, [0.9] * len(boxes), f).ids.tolist()
        if f == 20:
            tracker.reset()
    births = [i for k, i in enumerate(all_ids) if i not in all_ids[:k]]
    assert births == sorted(births) and births[0] == 1 and len(set(births)) == len(births)


def test_frames_that_were_not_detected_carry_every_shown_box_without_counting_misses():
    tracker = Tracker(TrackerSettings(max_missed=2, min_hits=3))
    for f in range(0, 12, 3):  # --every 3: detected at 0, 3, 6, 9
        step(tracker, [box(10 + 3 * f, 100)], [0.9], f)
        for g in (f + 1, f + 2):
            out = tracker.predict_only(g)
            assert out.ids.tolist() == [1] and out.carried.tolist() == [True]
            if f >= 6:  # once two looks have given the filter a velocity
                assert out.boxes[0, 0] == pytest.approx(10 + 3 * g, abs=3.0)
    # a tentative track shown at a detected frame is also carried through the frames in between
    out = step(tracker, [box(10 + 3 * 12, 100), box(400, 300)], [0.9, 0.9], 12)
    assert out.ids.tolist() == [1, 2] and out.confirmed.tolist() == [True, False]
    assert tracker.predict_only(13).ids.tolist() == [1, 2]
    # the gap to the next detected frame (5 frames) exceeds max_missed, yet the track survives a look that
    # finds it: frames nobody looked at are not misses
    out = step(tracker, [box(10 + 3 * 17, 100)], [0.9], 17)
    assert 1 in out.ids.tolist()


def test_carried_boxes_are_clipped_to_the_frame_and_dropped_once_outside():
    tracker = Tracker(TrackerSettings(max_missed=50), frame_size=(200, 100))
    for f in range(6):
        step(tracker, [box(100 + 10 * f, 20)], [0.9], f)
    frames_carried = 0
    for f in range(6, 40):
        out = step(tracker, [], [], f)
        if len(out):
            frames_carried += 1
            assert out.boxes[0, 2] <= 200
    assert 0 < frames_carried < 10


def test_frame_indices_must_increase():
    tracker = Tracker()
    step(tracker, [], [], 5)
    with pytest.raises(ValueError, match="reset"):
        step(tracker, [], [], 5)
    tracker.reset()
    step(tracker, [], [], 0)


def test_smoothing_zero_outputs_the_detections_and_smoothing_reduces_jitter():
    rng = np.random.default_rng(1)
    truth = np.array([[100 + 2 * f, 100, 160 + 2 * f, 180] for f in range(60)], np.float64)
    noisy = truth + rng.normal(0, 2.0, truth.shape)
    raw, smooth = Tracker(TrackerSettings(smoothing=0.0)), Tracker(TrackerSettings(smoothing=0.05))
    out_raw = np.array([step(raw, [b], [0.9], f).boxes[0] for f, b in enumerate(noisy)])
    out_smooth = np.array([step(smooth, [b], [0.9], f).boxes[0] for f, b in enumerate(noisy)])
    np.testing.assert_allclose(out_raw, noisy, atol=1e-3)
    assert np.abs(out_smooth - truth)[10:].mean() < 0.8 * np.abs(noisy - truth)[10:].mean()


def grown(boxes: np.ndarray, scale: float) -> np.ndarray:
    centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2 * scale
    return np.concatenate([centre - half, centre + half], axis=1)


def random_frames(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """A short random video's detections: up to 6 boxes a frame that drift, jump, vanish and change score."""
    n, frames = int(rng.integers(1, 7)), int(rng.integers(1, 25))
    xy, wh = rng.uniform(0, 500, (n, 2)), rng.uniform(4, 120, (n, 2))
    out = []
    for _ in range(frames):
        xy += rng.normal(0, rng.choice([1.0, 20.0]), xy.shape)
        present = rng.random(n) < 0.8
        boxes = np.concatenate([xy, xy + wh], axis=1)[present].astype(np.float32)
        out.append((boxes, rng.uniform(0, 1, len(boxes)).astype(np.float32)))
    return out


@pytest.mark.parametrize("every", [1, 2, 3])
def test_tracking_shows_every_confident_detection(every):
    """Property, over 150 random videos: in every detected frame each detection >= high_thresh has its own
    uncarried output with its score, and the render's 1.3 mask around that output box contains the
    detection (so a blur covers at least what plain detection covers); carried boxes come only from tracks
    that were shown before; on frames that were not detected every box is carried, and every track that had
    a confident detection at the last detected frame is there (plain detection repeats its boxes)."""
    rng = np.random.default_rng(every)
    for _ in range(150):
        check_covers_plain_detection(random_frames(rng), every, float(rng.choice([0.0, 0.8])))


def check_covers_plain_detection(frames, every, share):
    s = TrackerSettings(high_thresh=0.5, low_thresh=0.1, min_confident_share=share)
    tracker = Tracker(s)
    shown_ids, confident_ids = set(), set()
    for f, (boxes, scores) in enumerate(frames):
        if f % every:
            out = tracker.predict_only(f)
            assert out.carried.all() and confident_ids <= set(out.ids.tolist()) <= shown_ids
            continue
        out = tracker.update(boxes, scores, f)
        assert set(out.ids[out.carried].tolist()) <= shown_ids
        shown_ids |= set(out.ids.tolist())
        fresh = ~out.carried
        confident = scores >= s.high_thresh
        assert fresh.sum() >= confident.sum() and len(set(out.ids.tolist())) == len(out)
        # each confident detection is matched one-to-one with an uncarried output of the same score that
        # covers it: check with a bipartite assignment on "covers and has this score"
        masks = grown(out.boxes[fresh].astype(np.float64), 1.3)
        d = boxes[confident].astype(np.float64)
        covers = ((masks[None, :, :2] <= d[:, None, :2] + 1e-3).all(2) & (masks[None, :, 2:] >= d[:, None, 2:] - 1e-3).all(2)
                  & np.isclose(scores[confident][:, None], out.scores[fresh][None, :]))
        rows, _ = match(covers.astype(float), 0.5)
        assert len(rows) == confident.sum()
        confident_ids = set(out.ids[fresh & (out.scores >= s.high_thresh)].tolist())


def test_settings_are_validated_with_clear_messages():
    for kwargs, name in [({"high_thresh": 1.5}, "high_thresh"), ({"low_thresh": 0.6, "high_thresh": 0.5}, "low_thresh"),
                         ({"low_thresh": -0.1}, "low_thresh"), ({"match_iou": 0.0}, "match_iou"),
                         ({"low_match_iou": 1.2}, "low_match_iou"), ({"min_hits": 0}, "min_hits"),
                         ({"min_hits": 2.5}, "min_hits"), ({"max_missed": -1}, "max_missed"),
                         ({"smoothing": -0.1}, "smoothing"), ({"smoothing": float("nan")}, "smoothing"),
                         ({"max_edge_shift": 2.0}, "max_edge_shift"),
                         ({"min_confident_share": 1.5}, "min_confident_share")]:
        with pytest.raises(ValueError, match=name):
            TrackerSettings(**kwargs)
    s = TrackerSettings.for_video(0.7, 30.0)
    assert s.high_thresh == 0.7 and s.low_thresh == 0.1 and s.max_missed == 15
    assert TrackerSettings.for_video(0.05, None).low_thresh == 0.05
    assert TrackerSettings.for_video(0.5, 25.0, keep_seconds=0.2, min_hits=2).max_missed == 5


def test_updates_check_their_inputs():
    with pytest.raises(ValueError, match="scores"):
        Tracker().update(np.zeros((2, 4)), np.zeros(3), 0)
    assert len(Tracker().update(np.zeros((0, 4)), np.zeros(0), 0)) == 0 == len(Tracks.empty())


def test_geometry_and_motion_helpers():
    iou = iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])
    pos, vel, cov = kalman_init(np.array([[50.0, 50.0, 20.0, 20.0]]))
    vel[:] = [2.0, -1.0, 0.0, 0.0]
    new_pos, _, new_cov = kalman_predict(pos, vel, cov, 3)
    np.testing.assert_allclose(new_pos, [[56.0, 47.0, 20.0, 20.0]])
    assert (new_cov[..., 0] > cov[..., 0]).all()  # uncertainty grows with the gap


def test_carried_and_low_score_boxes_only_for_tracks_that_are_mostly_confident():
    tracker = Tracker(TrackerSettings(min_confident_share=0.8, min_hits=1))
    face, flicker = box(100, 100), box(400, 300)
    shown = {1: 0, 2: 0}
    for f in range(30):
        # a steady face, confident but for a dip every 10 frames; a false positive confident every other frame
        boxes, scores = [face, flicker], [0.3 if f % 10 == 9 else 0.9, 0.6 if f % 2 == 0 else 0.3]
        out = step(tracker, boxes, scores, f)
        for i in out.ids.tolist():
            shown[i] += 1
        assert np.isclose(out.scores, 0.6).any() == (f % 2 == 0)  # plain detection's box is always there
    assert shown == {1: 30, 2: 15}
    assert len(tracker.predict_only(30)) == 1  # the last frame showed only the face
