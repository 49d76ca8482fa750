from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, write_synthetic_wider_ground_truth

from core.errors import LabelFormatError
from training.evaluate import format_wider_file
from training.wider_eval import (
    evaluate_wider,
    image_keys_in,
    load_wider_ground_truth,
    read_prediction_dir,
    read_prediction_file,
    read_reference_pr_curve,
    voc_ap,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "wider"
GT_DIR = SHARED / "eval_gt"
VAL_IMAGES = SHARED / "val" / "images"
needs_shared = pytest.mark.skipif(not GT_DIR.is_dir(), reason="../shared/data is not present")


@pytest.mark.parametrize("method,expected", [
    ("SSH", (0.9192, 0.9073, 0.8140)),
    ("HR", (0.9257, 0.9105, 0.8060)),
    ("cms-rcnn", (0.8993, 0.8745, 0.6244)),
])
def test_ap_of_the_stored_official_curves(method, expected):
    for setting, value in zip(("easy", "medium", "hard"), expected):
        precision, recall = read_reference_pr_curve(
            DATA / "reference_pr" / method / f"wider_pr_info_{method}_{setting}_val.mat")
        assert round(voc_ap(recall, precision), 4) == value


@pytest.fixture(scope="module")
def ground_truth():
    return load_wider_ground_truth(GT_DIR)


def test_synthetic_ground_truth_hand_computed_ap(tmp_path):
    write_synthetic_wider_ground_truth(tmp_path)
    gt = load_wider_ground_truth(tmp_path)
    assert sorted(gt) == ["0--Parade/0_a", "0--Parade/0_b", "1--Handshaking/1_a"]
    assert gt["0--Parade/0_a"].kept["easy"].tolist() == [True, False]
    perfect = {k: np.c_[g.boxes, np.ones(len(g.boxes))] for k, g in gt.items()}
    assert evaluate_wider(perfect, gt).ap == pytest.approx({"easy": 1.0, "medium": 1.0, "hard": 1.0})
    # one easy face found (score 0.9) plus a false positive (0.8): easy has 3 faces -> recall 1/3 at
    # precision 1, then 1/3 at 1/2: AP = 1/3. The prediction on the face outside "easy" is ignored, not an FP.
    preds = {"0--Parade/0_a": np.array([[10, 10, 60, 60, 0.9], [100, 10, 20, 20, 0.85], [400, 400, 10, 10, 0.8]])}
    result = evaluate_wider(preds, gt)
    assert result.ap["easy"] == pytest.approx(1 / 3, abs=1e-3)
    assert result.ap["hard"] == pytest.approx(2 / 5, abs=1e-3)  # 2 of 5 hard faces at precision 1


def _gt_predictions(gt, keys, scores=None):
    preds = {}
    for k in keys:
        boxes = gt[k].boxes
        s = np.linspace(1.0, 0.5, len(boxes)) if scores is None else scores(len(boxes))
        preds[k] = np.concatenate([boxes, s[:, None]], axis=1)
    return preds


@needs_shared
def test_ground_truth_as_predictions_gives_ap_one(ground_truth):
    keys = image_keys_in(VAL_IMAGES)
    assert len(keys) == 394
    result = evaluate_wider(_gt_predictions(ground_truth, keys), ground_truth, keys)
    assert result.ap == pytest.approx({"easy": 1.0, "medium": 1.0, "hard": 1.0}, abs=1e-9)
    assert result.num_faces["hard"] > result.num_faces["medium"] > result.num_faces["easy"] > 0


@needs_shared
def test_unsorted_files_scores_outside_0_1_missing_and_empty_files(ground_truth, tmp_path):
    keys = image_keys_in(VAL_IMAGES)[:40]
    rng = np.random.default_rng(0)
    preds = _gt_predictions(ground_truth, keys, scores=lambda n: rng.uniform(0, 20, n))
    preds = {k: v + np.array([rng.integers(-3, 4), rng.integers(-3, 4), 0, 0, 0]) for k, v in preds.items()}
    full = evaluate_wider(preds, ground_truth, keys)
    reference = full.ap
    for k, rows in preds.items():  # write shuffled (unsorted) files
        path = tmp_path / f"{k}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_wider_file(k.split("/")[1], rows[rng.permutation(len(rows))]))
    assert evaluate_wider(read_prediction_dir(tmp_path, keys), ground_truth, keys).ap == pytest.approx(reference, abs=1e-4)
    (tmp_path / f"{keys[0]}.txt").unlink()  # missing -> no predictions, lower recall
    (tmp_path / f"{keys[1]}.txt").write_text("")  # empty -> no predictions
    partial = evaluate_wider(read_prediction_dir(tmp_path, keys), ground_truth, keys)
    assert max(partial.curves["hard"]["recall"]) < max(full.curves["hard"]["recall"])


@needs_shared
def test_duplicates_are_false_positives(ground_truth):
    keys = image_keys_in(VAL_IMAGES)[:20]
    preds = _gt_predictions(ground_truth, keys)
    doubled = {k: np.concatenate([v, v - np.array([0, 0, 0, 0, 0.4])]) for k, v in preds.items()}
    assert evaluate_wider(doubled, ground_truth, keys).ap["hard"] < 1.0


def test_malformed_prediction_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("img\n2\n1 2 3 4 0.9\n1 2 three 4 0.5\n")
    with pytest.raises(LabelFormatError, match=r"bad.txt:4"):
        read_prediction_file(path)
    path.write_text("img\nmany\n")
    with pytest.raises(LabelFormatError, match=r"bad.txt:2"):
        read_prediction_file(path)


def test_voc_ap_envelope():
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)


def test_pr_plot_parts_do_not_overlap_and_the_legend_sits_beside_the_curves(tmp_path):
    from itertools import combinations

    from training.pr_plot import PlotLayout, plot_curves_png

    layout = PlotLayout()
    parts = {name: getattr(layout, name) for name in ("title", "y_label", "plot", "x_label", "legend")}
    for (a, ra), (b, rb) in combinations(parts.items(), 2):
        overlap = min(ra[2], rb[2]) > max(ra[0], rb[0]) and min(ra[3], rb[3]) > max(ra[1], rb[1])
        assert not overlap, f"{a} overlaps {b}"
    assert all(0 <= r[0] < r[2] <= layout.width and 0 <= r[1] < r[3] <= layout.height for r in parts.values())
    curve = {"precision": [1.0, 0.9, 0.5], "recall": [0.1, 0.5, 1.0]}
    plot_curves_png(tmp_path / "pr.png", {"easy": curve, "hard": curve}, {"easy": 0.9, "hard": 0.5}, title="t")
    import cv2

    image = cv2.imread(str(tmp_path / "pr.png"))
    x1, y1, x2, y2 = layout.legend
    assert image.shape[:2] == (layout.height, layout.width)
    assert (image[y1:y2, x1:x2] < 200).any()  # the legend's text is drawn inside its own box
