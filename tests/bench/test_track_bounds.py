"""The tracking bench's two bounds (bench/track.py): the ground-truth judge of weak boxes and the faces plain
detection never covers."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "track.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_track", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is being executed
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def frame(ids, boxes, evaluated):
    return {"ids": np.array(ids, np.int64), "boxes": np.array(boxes, np.float64).reshape(-1, 4),
            "evaluated": np.array(evaluated, bool)}


FACE = [100.0, 100.0, 160.0, 180.0]
ELSEWHERE = [400.0, 300.0, 450.0, 360.0]


def test_judge_keeps_confident_boxes_and_weak_boxes_on_faces_only(bench):
    gt = [frame([1], [FACE], [True]), frame([1], [FACE], [True])]
    run = bench.RunOutput(
        boxes=[np.array([FACE, ELSEWHERE]), np.array([[105.0, 102.0, 162.0, 178.0], ELSEWHERE])],
        ids=[np.array([1, 2]), np.array([1, 2])], seconds=1.0,
        weak=[np.array([False, False]), np.array([True, True])])
    judged = bench.judged_by_ground_truth(gt, run)
    # Frame 0: both confident, the false one included (plain detection shows it too).
    np.testing.assert_array_equal(judged.ids[0], [1, 2])
    # Frame 1: the weak box on the face stays, the weak box elsewhere goes.
    np.testing.assert_array_equal(judged.ids[1], [1])
    np.testing.assert_array_equal(judged.boxes[1], [[105.0, 102.0, 162.0, 178.0]])
    assert judged.weak[1].tolist() == [True]
    counts, _ = bench.evaluate(gt, judged)
    assert (counts["false"], counts["leaks"]) == (1, 0)


def test_judge_reads_0_1_flags_as_bools_and_needs_them(bench):
    gt = [frame([1], [FACE], [True])]
    run = bench.RunOutput([np.array([FACE, ELSEWHERE])], [np.array([1, 2])], 1.0, [np.array([0, 1])])
    np.testing.assert_array_equal(bench.judged_by_ground_truth(gt, run).ids[0], [1])
    with pytest.raises(ValueError, match="weak-box flags"):
        bench.judged_by_ground_truth(gt, bench.RunOutput(run.boxes, run.ids, 1.0))


def test_judge_counts_a_weak_box_on_an_ignored_face_as_on_a_face(bench):
    gt = [frame([1, 2], [FACE, ELSEWHERE], [True, False])]
    run = bench.RunOutput([np.array([ELSEWHERE])], [np.array([2])], 1.0, [np.array([True])])
    assert len(bench.judged_by_ground_truth(gt, run).boxes[0]) == 1


def test_never_covered_counts_the_evaluated_appearances_of_faces_never_covered(bench):
    other = [300.0, 50.0, 340.0, 100.0]
    gt = [frame([1, 2], [FACE, other], [True, True]),
          frame([1, 2], [FACE, other], [True, False]),  # face 2 too small or outside here: not counted
          frame([1, 2], [FACE, other], [True, True])]
    plain = bench.RunOutput([np.zeros((0, 4)), np.array([FACE]), np.zeros((0, 4))],
                            [np.full(0, -1), np.array([-1]), np.full(0, -1)], 1.0)
    # Face 1 is covered once (frame 1), so a tracker could extend it; face 2 never is: its 2 evaluated frames.
    assert bench.never_covered(gt, plain) == 2
    assert bench.never_covered(gt[:1], bench.RunOutput([np.zeros((0, 4))], [np.full(0, -1)], 1.0)) == 2
    # Covered only in the frame where it is not evaluated still gives a tracker something to extend.
    plain.boxes[1] = np.array([FACE, other])
    assert bench.never_covered(gt, plain) == 0
