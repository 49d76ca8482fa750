"""The official WIDER FACE evaluation (reference section 5), restricted to the images present.

Matches the MATLAB ``wider_eval`` tools: global min–max score normalisation, per-prediction match
to the single best-IoU ground truth ("+1" IoU ≥ 0.5) where matches to faces outside the setting
("ignored") remove the prediction from the count, 1000 score thresholds, VOC AP with a monotone
precision envelope. Predictions need not be sorted (they are sorted here, as MATLAB does).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import LabelFormatError
from core.file_types import is_image

SETTINGS = ("easy", "medium", "hard")
NUM_THRESHOLDS = 1000
IOU_THRESHOLD = 0.5


@dataclass
class GroundTruthImage:
    event: str
    name: str  # file stem, e.g. "0_Parade_marchingband_1_465"
    boxes: np.ndarray  # (G, 4) x, y, w, h
    kept: dict[str, np.ndarray]  # setting -> bool (G,) faces that count in that setting


def load_wider_ground_truth(gt_dir: str | Path) -> dict[str, GroundTruthImage]:
    """Read ``wider_face_val.mat`` and ``wider_{easy,medium,hard}_val.mat``; key "event/stem"."""
    from scipy.io import loadmat  # lazily: only evaluation needs scipy

    gt_dir = Path(gt_dir)
    paths = [gt_dir / "wider_face_val.mat"] + [gt_dir / f"wider_{s}_val.mat" for s in SETTINGS]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"WIDER ground truth not found: {p}")
    try:
        mats = [loadmat(str(p)) for p in paths]
    except Exception as exc:  # scipy raises several unrelated types for broken files
        raise LabelFormatError(f"{gt_dir}: cannot read the WIDER .mat ground truth ({exc})") from exc
    full = mats[0]
    images: dict[str, GroundTruthImage] = {}
    for e, event_cell in enumerate(full["event_list"][:, 0]):
        event = str(event_cell[0])
        files = full["file_list"][e, 0][:, 0]
        boxes = full["face_bbx_list"][e, 0][:, 0]
        for i, file_cell in enumerate(files):
            name = str(file_cell[0])
            b = np.asarray(boxes[i], dtype=np.float64).reshape(-1, 4)
            kept = {}
            for setting, mat in zip(SETTINGS, mats[1:]):
                idx = np.asarray(mat["gt_list"][e, 0][i, 0], dtype=np.int64).reshape(-1) - 1
                mask = np.zeros(len(b), dtype=bool)
                mask[idx[(idx >= 0) & (idx < len(b))]] = True
                kept[setting] = mask
            images[f"{event}/{name}"] = GroundTruthImage(event, name, b, kept)
    return images


def read_prediction_file(path: Path) -> np.ndarray:
    """(P, 5) x, y, w, h, score from a WIDER prediction file; an empty file is no predictions.

    Strict: the count must match the box lines (blank lines may follow), each box line is five finite
    numbers with a non-negative width, height and score; any problem is a ``LabelFormatError`` naming
    the file and line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise LabelFormatError(f"{path}: cannot read ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise LabelFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    if not text.strip():
        return np.zeros((0, 5))
    if len(lines) < 2:
        raise LabelFormatError(f"{path}:2: expected a count line after the image name")
    try:
        count = int(lines[1].strip())
    except ValueError:
        raise LabelFormatError(f"{path}:2: expected the box count, got {lines[1][:80]!r}") from None
    if count < 0 or len(lines) < 2 + count:
        raise LabelFormatError(f"{path}: count {count} does not match the {len(lines) - 2} box lines")
    rows = []
    for j, line in enumerate(lines[2:2 + count]):
        where = f"{path}:{j + 3}"
        fields = line.split()
        try:
            row = [float(v) for v in fields]
        except ValueError:
            raise LabelFormatError(f"{where}: expected 'x y w h score', got {line[:80]!r}") from None
        if len(row) != 5 or not np.all(np.isfinite(row)):
            raise LabelFormatError(f"{where}: expected five finite numbers 'x y w h score', got {line[:80]!r}")
        if row[2] < 0 or row[3] < 0:
            raise LabelFormatError(f"{where}: negative width or height in {line[:80]!r}")
        if row[4] < 0:
            raise LabelFormatError(f"{where}: negative score in {line[:80]!r}")
        rows.append(row)
    extra = next((n for n, line in enumerate(lines[2 + count:], 3 + count) if line.strip()), None)
    if extra is not None:
        raise LabelFormatError(f"{path}:{extra}: more box lines than the count {count} on line 2")
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def iou_xywh_inclusive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(P, 4) × (G, 4) x, y, w, h -> (P, G) IoU with corners x + w and "+1" areas."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] + 1) * (a[:, 3] + 1)
    area_b = (b[:, 2] + 1) * (b[:, 3] + 1)
    union = area_a[:, None] + area_b[None] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.where((iw > 0) & (ih > 0), iou, 0.0)


def image_pr_counts(preds: np.ndarray, gt: np.ndarray, kept: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(T, 2) [proposals, true positives] of one image at each normalised-score threshold.

    ``preds`` (P, 5) sorted by normalised score, descending.
    """
    out = np.zeros((len(thresholds), 2))
    if len(preds) == 0 or len(gt) == 0:
        return out
    iou = iou_xywh_inclusive(preds[:, :4], gt)
    best = iou.argmax(axis=1)  # first index on ties, as MATLAB's max
    matched = iou[np.arange(len(preds)), best] >= IOU_THRESHOLD
    ignored_pred = matched & ~kept[best]
    hit = matched & kept[best]
    first_hit = np.zeros(len(preds), dtype=bool)
    hit_idx = np.flatnonzero(hit)
    if len(hit_idx):
        _, first = np.unique(best[hit_idx], return_index=True)
        first_hit[hit_idx[first]] = True
    tp_cum = np.cumsum(first_hit)
    proposals_cum = np.cumsum(~ignored_pred)
    # r(t) = number of predictions with score ≥ θ_t (scores are descending)
    r = np.searchsorted(-preds[:, 4], -thresholds, side="right")
    valid = r > 0
    out[valid, 0] = proposals_cum[r[valid] - 1]
    out[valid, 1] = tp_cum[r[valid] - 1]
    return out


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC AP (all points) with the monotone precision envelope, as VOCap.m."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(np.nan_to_num(mpre, nan=0.0)[::-1])[::-1]  # precision envelope from the right
    change = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[change] - mrec[change - 1]) * mpre[change]))


@dataclass
class WiderResult:
    ap: dict[str, float]
    curves: dict[str, dict[str, list[float]]]  # setting -> {"precision": [...], "recall": [...]}
    num_images: int
    num_faces: dict[str, int]


def evaluate_wider(predictions: dict[str, np.ndarray], ground_truth: dict[str, GroundTruthImage],
                   image_keys: list[str] | None = None) -> WiderResult:
    """AP per setting.

    Args:
        predictions: "event/stem" -> (P, 5) x, y, w, h, score (raw scores; any order). Missing = none.
        ground_truth: from ``load_wider_ground_truth``.
        image_keys: restrict to these images (e.g. those present locally); default all of the GT.
    """
    return result_from_counts(per_image_counts(predictions, ground_truth, image_keys))


@dataclass
class PerImageCounts:
    """One detector's PR counts image by image, for resampling the images (``training.ap_bootstrap``).

    Attributes:
        keys: the images, "event/stem", in the order of the arrays' first axis.
        counts: setting -> (I, T, 2) int32 [proposals, true positives] at each of the T thresholds of
            the full set's normalised scores; summed over images they give ``evaluate_wider``'s curve.
        faces: setting -> (I,) int32 faces of each image that count in that setting.
    """

    keys: list[str]
    counts: dict[str, np.ndarray]
    faces: dict[str, np.ndarray]


def per_image_counts(predictions: dict[str, np.ndarray], ground_truth: dict[str, GroundTruthImage],
                     image_keys: list[str] | None = None) -> PerImageCounts:
    """``evaluate_wider``'s counts before they are summed over images (same arguments; 8 KB per image
    and setting: 77 MB for all 3,226 WIDER val images)."""
    keys, normalised, thresholds = _normalised_predictions(predictions, ground_truth, image_keys)
    counts = {setting: np.zeros((len(keys), NUM_THRESHOLDS, 2), dtype=np.int32) for setting in SETTINGS}
    for setting in SETTINGS:
        for i, k in enumerate(keys):
            g = ground_truth[k]
            counts[setting][i] = image_pr_counts(normalised[k], g.boxes, g.kept[setting], thresholds)
    faces = {setting: np.array([ground_truth[k].kept[setting].sum() for k in keys], dtype=np.int32)
             for setting in SETTINGS}
    return PerImageCounts(keys, counts, faces)


def result_from_counts(counts: PerImageCounts) -> WiderResult:
    """AP and PR curve per setting from per-image counts summed over their images."""
    ap, curves, faces = {}, {}, {}
    for setting in SETTINGS:
        faces[setting] = int(counts.faces[setting].sum())
        ap[setting], precision, recall = ap_from_totals(counts.counts[setting].sum(axis=0), faces[setting])
        curves[setting] = {"precision": np.nan_to_num(precision).tolist(), "recall": recall.tolist()}
    return WiderResult(ap, curves, len(counts.keys), faces)


def ap_from_totals(totals: np.ndarray, faces: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(AP, precision (T,), recall (T,)) from (T, 2) [proposals, true positives] summed over images."""
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = totals[:, 1] / totals[:, 0]
    recall = totals[:, 1] / max(faces, 1)
    return voc_ap(recall, precision), precision, recall


def _normalised_predictions(predictions: dict[str, np.ndarray], ground_truth: dict[str, GroundTruthImage],
                            image_keys: list[str] | None) -> tuple[list[str], dict[str, np.ndarray], np.ndarray]:
    """The image keys, each image's predictions with scores min–max normalised over all of them and
    sorted descending, and the descending thresholds, as MATLAB's ``wider_eval`` does before matching."""
    keys = list(ground_truth) if image_keys is None else list(image_keys)
    unknown = [k for k in keys if k not in ground_truth]
    if unknown:
        raise KeyError(f"{len(unknown)} images are not in the WIDER ground truth, e.g. {unknown[0]!r}")
    all_scores = [predictions[k][:, 4] for k in keys if k in predictions and len(predictions[k])]
    lo = min((s.min() for s in all_scores), default=0.0)
    hi = max((s.max() for s in all_scores), default=1.0)
    span = hi - lo
    thresholds = 1.0 - np.arange(1, NUM_THRESHOLDS + 1) / NUM_THRESHOLDS
    normalised = {}
    for k in keys:
        p = predictions.get(k, np.zeros((0, 5)))
        if len(p):
            p = p.copy()
            p[:, 4] = (p[:, 4] - lo) / span if span > 0 else 1.0
            p = p[np.argsort(-p[:, 4], kind="stable")]
        normalised[k] = p
    return keys, normalised, thresholds


def read_reference_pr_curve(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) of a stored WIDER ``wider_pr_info_*.mat`` curve (MATLAB v7.3/HDF5 or v5)."""
    path = Path(path)
    try:
        import h5py

        with h5py.File(path, "r") as f:
            curve = np.array(f["pr_cruve"])  # (2, 1000): the official files' spelling
    except (ImportError, OSError):
        from scipy.io import loadmat

        curve = np.asarray(loadmat(str(path))["pr_cruve"]).T
    return curve[0], curve[1]


def read_prediction_dir(pred_dir: str | Path, image_keys: list[str]) -> dict[str, np.ndarray]:
    """Load ``pred_dir/<event>/<stem>.txt`` for each key; missing files are simply absent (no
    predictions for that image), but a missing folder, or one with no file for any of the images, is a
    ``LabelFormatError``: it would score AP 0 without a word."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise LabelFormatError(f"{pred_dir}: prediction folder not found")
    out = {}
    for key in image_keys:
        path = pred_dir / f"{key}.txt"
        if path.is_file():
            out[key] = read_prediction_file(path)
    if image_keys and not out:
        raise LabelFormatError(f"{pred_dir}: no prediction files for the {len(image_keys)} images evaluated "
                               f"(expected <event>/<image stem>.txt, e.g. {pred_dir / image_keys[0]}.txt)")
    return out


def image_keys_in(images_dir: str | Path) -> list[str]:
    """"event/stem" of every image under ``images_dir/<event>/``."""
    images_dir = Path(images_dir)
    return sorted(f"{p.parent.name}/{p.stem}" for p in images_dir.glob("*/*")
                  if is_image(p))
