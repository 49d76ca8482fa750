import numpy as np
import pytest
from conftest import DATA

from training.complete_labels import main, missing_faces
from training.readers import read_labels

IMAGE = next((DATA / "wider_mini" / "images").rglob("*.jpg"))  # a real 1024-wide WIDER image


def test_missing_faces_adds_only_confident_unlabelled_detections_once():
    labelled = np.array([[10, 10, 50, 50]], np.float32)
    detections = np.array([
        [12, 11, 50, 52, 0.99],    # the labelled face, boxed a little differently: not added
        [200, 200, 240, 240, 0.95],  # an unlabelled face: added
        [202, 201, 241, 242, 0.90],  # a second box on that face: not added twice
        [400, 400, 440, 440, 0.50],  # too unsure: not added
    ])
    added = missing_faces(labelled, detections, min_score=0.8, max_iou=0.3)
    assert added.tolist() == [[200, 200, 240, 240]]
    assert missing_faces(np.zeros((0, 4)), detections, 0.8, 0.3).tolist() == [[12, 11, 50, 52], [200, 200, 240, 240]]


def _labelled_folder(tmp_path):
    (tmp_path / "JPEGImages").mkdir(parents=True)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "JPEGImages" / "a.jpg").write_bytes(IMAGE.read_bytes())
    (tmp_path / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>without_mask</name><bndbox><xmin>11</xmin>"
        "<ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object></annotation>")
    return tmp_path


def test_cli_writes_a_coco_file_that_training_reads(tmp_path, capsys):
    root = _labelled_folder(tmp_path)
    (root / "dets").mkdir()
    (root / "dets" / "a.txt").write_text("a\n3\n10 20 30 40 0.99\n500 300 60 80 0.97\n700 100 20 20 0.3\n")
    out = root / "completed.json"
    assert main(["voc=" + str(root / "annotations"), "--detections", str(root / "dets"), "--out", str(out)]) == 0
    assert "1 labelled faces + 1 added" in capsys.readouterr().out
    [sample] = read_labels(str(out))
    assert sample.source.resolve() == (root / "JPEGImages" / "a.jpg").resolve()
    assert sample.boxes.tolist() == [[10, 20, 40, 60], [500, 300, 560, 380]]


def test_cli_names_the_missing_detection_file_and_writes_nothing(tmp_path, capsys):
    root = _labelled_folder(tmp_path)
    (root / "dets").mkdir()
    out = root / "completed.json"
    assert main(["voc=" + str(root / "annotations"), "--detections", str(root / "dets"), "--out", str(out)]) == 1
    assert f"{root / 'dets' / 'a.txt'}: no detection file" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_an_output_folder_that_does_not_hold_the_images(tmp_path, capsys):
    root = _labelled_folder(tmp_path / "set")
    (root / "dets").mkdir()
    (root / "dets" / "a.txt").write_text("a\n0\n")
    out = tmp_path / "elsewhere" / "completed.json"
    assert main(["voc=" + str(root / "annotations"), "--detections", str(root / "dets"), "--out", str(out)]) == 1
    assert "not under" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("text", ["a\nx\n", "a\n2\n1 2 3 4 0.9\n"])
def test_cli_rejects_malformed_detection_files(tmp_path, capsys, text):
    root = _labelled_folder(tmp_path)
    (root / "dets").mkdir()
    (root / "dets" / "a.txt").write_text(text)
    assert main(["voc=" + str(root / "annotations"), "--detections", str(root / "dets"),
                 "--out", str(root / "c.json")]) == 1
    assert "a.txt" in capsys.readouterr().err
