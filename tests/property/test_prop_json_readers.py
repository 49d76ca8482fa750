"""Mutated COCO JSON and sshvideo JSON Lines (bytes and fields): a result or a LabelFormatError."""
from __future__ import annotations

import json

import pytest
from conftest import DATA
from hypothesis import given
from property_helpers import SETTINGS, json_mutated, mutated, reads_or_refuses

from training.readers import read_labels

IMAGE = next((DATA / "wider_mini" / "images").rglob("*.jpg"))
COCO = {"images": [{"id": 1, "file_name": "a.jpg", "width": 1024, "height": 683},
                   {"id": "b", "file_name": "b.jpg", "width": 100, "height": 100}],
        "annotations": [{"image_id": 1, "bbox": [10, 20, 30, 40], "category_id": 1},
                        {"image_id": "b", "bbox": [1, 2, 3, 4], "category_id": 2}],
        "categories": [{"id": 1, "name": "face"}, {"id": 2, "name": "car"}]}
HEADER = {"sshvideo": "detections", "source": "clip.mp4", "width": 160, "height": 120}
RECORDS = [HEADER, {"frame": 0, "faces": [{"box": [1, 2, 30, 40], "score": 0.9}]},
           {"frame": 1, "faces": []}, {"image": "a.jpg", "width": 50, "height": 40,
                                       "faces": [{"box": [1, 2, 3, 4], "score": 0.7}]}]


def _jsonl(records) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode() + b"\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("json_readers")
    (root / "a.jpg").write_bytes(IMAGE.read_bytes())
    return root


@SETTINGS
@given(data=mutated(json.dumps(COCO).encode()))
def test_mutated_coco_bytes(folder, data):
    path = folder / "faces.json"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"coco={p}"), path)


@SETTINGS
@given(value=json_mutated(COCO))
def test_mutated_coco_fields(folder, value):
    path = folder / "faces.json"
    path.write_text(json.dumps(value))
    reads_or_refuses(lambda p: read_labels(f"coco={p}"), path)


@SETTINGS
@given(data=mutated(_jsonl(RECORDS)))
def test_mutated_sshvideo_jsonl_bytes(folder, data):
    path = folder / "out.jsonl"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"sshvideo={p}"), path)


@SETTINGS
@given(records=json_mutated(RECORDS))
def test_mutated_sshvideo_jsonl_fields(folder, records):
    path = folder / "out.jsonl"
    path.write_bytes(_jsonl(records if isinstance(records, list) else [records]))
    reads_or_refuses(lambda p: read_labels(f"sshvideo={p}"), path)
