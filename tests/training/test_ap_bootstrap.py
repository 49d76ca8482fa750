import numpy as np
import pytest
from conftest import write_synthetic_wider_ground_truth

from training.ap_bootstrap import bootstrap_ap_difference
from training.wider_eval import (
    ap_from_totals,
    evaluate_wider,
    load_wider_ground_truth,
    per_image_counts,
)


@pytest.fixture
def ground_truth(tmp_path):
    write_synthetic_wider_ground_truth(tmp_path)  # 3 images, one easy face in each
    return load_wider_ground_truth(tmp_path)


def perfect(gt):
    return {k: np.c_[g.boxes, np.linspace(1.0, 0.6, len(g.boxes))] for k, g in gt.items()}


def test_per_image_counts_sum_to_the_hand_computed_ap(ground_truth):
    # The hand-computed case of test_wider_eval: easy AP 1/3, hard AP 2/5, here from the per-image counts.
    preds = {"0--Parade/0_a": np.array([[10, 10, 60, 60, 0.9], [100, 10, 20, 20, 0.85], [400, 400, 10, 10, 0.8]])}
    counts = per_image_counts(preds, ground_truth)
    assert counts.keys == list(ground_truth)
    assert counts.faces["easy"].tolist() == [1, 1, 1] and counts.faces["hard"].tolist() == [2, 1, 2]
    assert counts.counts["easy"][1:].sum() == 0  # nothing predicted on the other two images
    totals = {setting: counts.counts[setting].sum(axis=0) for setting in ("easy", "hard")}
    assert ap_from_totals(totals["easy"], 3)[0] == pytest.approx(1 / 3, abs=1e-3)
    assert ap_from_totals(totals["hard"], 5)[0] == pytest.approx(2 / 5, abs=1e-3)
    assert evaluate_wider(preds, ground_truth).ap["hard"] == pytest.approx(2 / 5, abs=1e-3)


def test_a_detector_against_itself_differs_by_nothing(ground_truth):
    counts = per_image_counts(perfect(ground_truth), ground_truth)
    for d in bootstrap_ap_difference(counts, counts, resamples=200):
        assert (d.observed, d.low, d.high, d.share_a_higher) == (0.0, 0.0, 0.0, 0.0)


def test_one_missed_face_shows_in_the_draws_that_hold_its_image(ground_truth):
    a = perfect(ground_truth)
    b = dict(a, **{"0--Parade/0_a": a["0--Parade/0_a"][1:]})  # B misses 0_a's easy face
    [easy, *_] = bootstrap_ap_difference(per_image_counts(a, ground_truth), per_image_counts(b, ground_truth),
                                         resamples=4000, seed=1)
    assert easy.setting == "easy"
    assert easy.observed == pytest.approx(1 / 3, abs=2e-3)  # B: recall 2/3 at precision 1
    # A is higher exactly when 0_a is drawn at least once among 3 draws: 1 − (2/3)³ = 19/27
    assert easy.share_a_higher == pytest.approx(19 / 27, abs=0.03)
    assert easy.low == 0.0  # draws without 0_a tie
    assert easy.high == pytest.approx(1.0, abs=2e-3)  # 0_a three times (1/27 of draws): B finds no easy face


def test_seeded_and_checked(ground_truth):
    counts = per_image_counts(perfect(ground_truth), ground_truth)
    other = per_image_counts({}, ground_truth)
    assert bootstrap_ap_difference(counts, other, 100, seed=3) == bootstrap_ap_difference(counts, other, 100, seed=3)
    fewer = per_image_counts({}, ground_truth, image_keys=list(ground_truth)[:2])
    with pytest.raises(ValueError, match="different images"):
        bootstrap_ap_difference(counts, fewer)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_ap_difference(counts, other, resamples=0)
