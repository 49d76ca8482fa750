"""``sshvideo detect``: faces in image files, written as WIDER prediction files and JSON Lines."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from core.atomic import atomic_path, write_text_atomic
from core.errors import ImageReadError
from core.file_types import is_image
from core.inference import Detector
from sshvideo.exporters import face_records
from sshvideo.inputs import InputFile
from sshvideo.render import draw_boxes
from training.evaluate import format_wider_file, wider_rows
from training.images import read_image_rgb

log = logging.getLogger(__name__)


@dataclass
class DetectSummary:
    images: int = 0
    faces: int = 0
    failed: int = 0
    seconds: float = 0.0


def detect_images(detector: Detector, inputs: list[InputFile], out_dir: Path, *, threshold: float,
                  draw: bool = False, draw_scores: bool = False, progress: bool = True, report=print) -> DetectSummary:
    """Detect every image; per image ``out/<relative>.txt`` (WIDER format), ``out/annotated/<relative>``
    with ``draw``, and one ``out/detections.jsonl`` line per image. Unreadable, empty, undecodable or
    oversized images are reported through ``report`` by name and counted as failed; the others are
    still processed and ``detections.jsonl`` is written."""
    from tqdm import tqdm

    summary = DetectSummary()
    start = time.perf_counter()
    jsonl_lines = []
    for item in tqdm(inputs, unit="img", disable=not progress or len(inputs) < 2, dynamic_ncols=True):
        try:
            image = read_image_rgb(item.path)  # every unreadable, empty or oversized file: ImageReadError
            [dets] = detector.detect([image])
        except ImageReadError as exc:
            report(f"error: {exc}; skipped")
            summary.failed += 1
            continue
        except MemoryError:  # the detector's input is capped (InferenceConfig.max_pixels), but be clear
            report(f"error: {item.path}: out of memory while detecting; skipped")
            summary.failed += 1
            continue
        dets = dets.above(threshold)
        base = item.output_base
        write_text_atomic(out_dir / f"{base}.txt", format_wider_file(base.name, wider_rows(dets)))
        jsonl_lines.append(json.dumps({"image": str(item.path), "width": image.shape[1], "height": image.shape[0],
                                       "faces": face_records(dets)}))
        if draw:
            drawn = cv2.cvtColor(draw_boxes(image, dets, draw_scores), cv2.COLOR_RGB2BGR)
            target = out_dir / "annotated" / item.relative  # its own name: unique within one input tree
            if item.output_base == item.relative:  # its stem is another input's: keep both suffixes
                target = target.with_name(target.name + ".png")
            elif not is_image(target):
                target = target.with_suffix(".png")
            with atomic_path(target) as tmp:
                if not cv2.imwrite(str(tmp), drawn):
                    raise OSError(f"{target}: could not write the annotated image")
        summary.images += 1
        summary.faces += len(dets)
    write_text_atomic(out_dir / "detections.jsonl", "\n".join(jsonl_lines) + ("\n" if jsonl_lines else ""))
    summary.seconds = time.perf_counter() - start
    return summary
