"""Mutated WIDER, YOLO and MOT text label files: a result or a LabelFormatError naming the file."""
from __future__ import annotations

import pytest
from conftest import DATA, make_clip
from hypothesis import given
from property_helpers import SETTINGS, mutated, reads_or_refuses

from training.readers import read_labels

IMAGE = next((DATA / "wider_mini" / "images").rglob("*.jpg"))
WIDER = b"e/a.jpg\n2\n10 20 30 40 0 0 0 0 0 0\n-3 -4 20 20 0 0 0 1 0 0\ne/a.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
YOLO = b"0 0.5 0.5 0.1 0.2\n1 0.2 0.2 0.1 0.1\n0 0.3 0.3 0.05 0.05\n"
MOT = b"1,1,10,10,20,20,1,1,1\n2,1,12,10,20,20,1,1,1\n3,-1,14,10,20,20,0.9,-1,-1\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("text_readers")
    (root / "wider" / "images" / "e").mkdir(parents=True)
    (root / "wider" / "images" / "e" / "a.jpg").write_bytes(IMAGE.read_bytes())
    (root / "yolo" / "images").mkdir(parents=True)
    (root / "yolo" / "labels").mkdir()
    (root / "yolo" / "images" / "x.jpg").write_bytes(IMAGE.read_bytes())
    (root / "mot").mkdir()
    make_clip(root / "mot" / "clip.mp4", frames=4)
    return root


@SETTINGS
@given(data=mutated(WIDER))
def test_mutated_wider_labels(folder, data):
    path = folder / "wider" / "labels.txt"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"wider={p.parent}"), path)


@SETTINGS
@given(data=mutated(YOLO))
def test_mutated_yolo_labels(folder, data):
    path = folder / "yolo" / "labels" / "x.txt"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"yolo={p.parent.parent}"), path)


@SETTINGS
@given(data=mutated(MOT))
def test_mutated_mot_labels(folder, data):
    path = folder / "mot" / "gt.txt"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"mot={p}", video=p.parent / "clip.mp4"), path)
