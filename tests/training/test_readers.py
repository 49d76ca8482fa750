import json
import sys

import cv2
import numpy as np
import pytest
from conftest import DATA

from core.errors import LabelFormatError
from training.readers import detect_format, read_labels
from training.wider import read_wider_labels

MINI = DATA / "wider_mini"
IMAGE = next((MINI / "images").rglob("*.jpg"))  # a real 1024-wide WIDER image


def test_wider_reader_handles_zero_size_zero_face_and_invalid(tmp_path):
    (tmp_path / "images" / "e").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "images" / "e" / name).write_bytes(IMAGE.read_bytes())
    (tmp_path / "labels.txt").write_text(
        "e/a.jpg\n3\n10 20 30 40 0 0 0 0 0 0\n-5 7 0 12 0 0 0 0 0 0\n-3 -4 20 20 0 0 0 1 0 0\n"
        "e/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n")
    a, b = read_wider_labels(tmp_path / "labels.txt", tmp_path / "images")
    assert a.boxes.tolist() == [[10, 20, 40, 60], [0, 0, 20, 20]]  # zero-width dropped; x1 = max(0, x)
    assert a.invalid.tolist() == [False, True]  # invalid faces are kept, as the reference does
    assert b.boxes.shape == (0, 4)


@pytest.mark.parametrize("text,where", [
    ("e/a.jpg\nthree\n", ":2"),
    ("e/a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n", "ends inside"),
    ("e/a.jpg\n1\n1 2 x 4 0 0 0 0 0 0\n", ":3"),
    ("../../etc/passwd.jpg\n0\n0 0 0 0\n", "relative"),
    ("notes.txt\n1\n", "expected an image path"),
])
def test_wider_reader_rejects_malformed_files(tmp_path, text, where):
    (tmp_path / "labels.txt").write_text(text)
    with pytest.raises(LabelFormatError, match="labels.txt") as err:
        read_wider_labels(tmp_path / "labels.txt", tmp_path, require_images=False)
    assert where in str(err.value)


def test_coco(tmp_path):
    data = {"images": [{"id": 1, "file_name": IMAGE.name, "width": 1024, "height": 683}],
            "annotations": [{"image_id": 1, "bbox": [10, 20, 30, 40], "category_id": 1},
                            {"image_id": 1, "bbox": [1000, 600, 100, 100], "category_id": 1}],
            "categories": [{"id": 1, "name": "face"}]}
    (tmp_path / IMAGE.name).write_bytes(IMAGE.read_bytes())
    path = tmp_path / "faces.json"
    path.write_text(json.dumps(data))
    [s] = read_labels(str(path))
    assert s.boxes.tolist() == [[10, 20, 40, 60], [1000, 600, 1024, 683]]  # partly outside: clipped
    data["annotations"][0]["bbox"] = [2000, 2000, 10, 10]
    path.write_text(json.dumps(data))
    with pytest.raises(LabelFormatError, match=r"faces.json: annotations\[0\]: .*outside"):
        read_labels(str(path))
    path.write_text('{"images": [1, 2,')
    with pytest.raises(LabelFormatError, match="faces.json:1: malformed JSON"):
        read_labels(str(path))


def test_yolo(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "x.jpg").write_bytes(IMAGE.read_bytes())
    (tmp_path / "labels" / "x.txt").write_text("0 0.5 0.5 0.1 0.2\n1 0.2 0.2 0.1 0.1\n")
    assert detect_format(tmp_path) == "yolo"
    [s] = read_labels(str(tmp_path))
    h, w = cv2.imread(str(IMAGE)).shape[:2]
    assert np.allclose(s.boxes, [[0.45 * w, 0.4 * h, 0.55 * w, 0.6 * h]], atol=0.01)
    (tmp_path / "labels" / "x.txt").write_text("0 5 0.5 0.1 0.2\n")
    with pytest.raises(LabelFormatError, match=r"x.txt:1: .*normalised"):
        read_labels(str(tmp_path))


def test_voc_and_hostile_xml(tmp_path):
    (tmp_path / IMAGE.name).write_bytes(IMAGE.read_bytes())
    xml = tmp_path / "a.xml"
    xml.write_text(f"<annotation><filename>{IMAGE.name}</filename><size><width>1024</width><height>683</height></size>"
                   "<object><name>with_mask</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax>"
                   "</bndbox></object></annotation>")
    [s] = read_labels(str(xml))
    assert s.boxes.tolist() == [[10, 20, 40, 60]]  # VOC is 1-based inclusive
    xml.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                   "<annotation><filename>&lol2;</filename></annotation>")
    with pytest.raises(LabelFormatError, match="a.xml: DTDs and entity"):
        read_labels(f"voc={xml}")
    xml.write_text("<annotation><filename>x.jpg</filename><object>")
    with pytest.raises(LabelFormatError, match=r"a.xml:1: malformed XML"):
        read_labels(f"voc={xml}")


def test_voc_finds_a_renamed_image_by_the_xml_stem(tmp_path):
    """Datasets that rename files (e.g. to their MD5) keep labelImg's old <filename>."""
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "annotations").mkdir()
    (tmp_path / "JPEGImages" / "0a1b.jpg").write_bytes(IMAGE.read_bytes())
    xml = tmp_path / "annotations" / "0a1b.xml"
    xml.write_text("<annotation><filename>IMG_0042.jpg</filename><object><name>face</name><bndbox><xmin>1</xmin>"
                   "<ymin>1</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>")
    [s] = read_labels(f"voc={tmp_path / 'annotations'}")
    assert s.source == tmp_path / "JPEGImages" / "0a1b.jpg"
    (tmp_path / "JPEGImages" / "0a1b.jpg").unlink()
    with pytest.raises(LabelFormatError, match=r"0a1b.xml: image 'IMG_0042.jpg' \(or 0a1b.jpg/.png\) not found"):
        read_labels(f"voc={tmp_path / 'annotations'}")


def test_cvat_images(tmp_path):
    (tmp_path / IMAGE.name).write_bytes(IMAGE.read_bytes())
    xml = tmp_path / "cvat.xml"
    xml.write_text(f'<annotations><version>1.1</version><image id="0" name="{IMAGE.name}" width="1024" height="683">'
                   '<box label="face" xtl="10" ytl="20" xbr="40" ybr="60" occluded="0"/>'
                   '<box label="car" xtl="1" ytl="2" xbr="3" ybr="4"/></image></annotations>')
    assert detect_format(xml) == "cvat-images"
    [s] = read_labels(str(xml))
    assert s.boxes.tolist() == [[10, 20, 40, 60]]
    xml.write_text('<annotations><image id="0" name="a.jpg" width="10" height="10">'
                   '<box label="face" xtl="1" ytl="2" xbr="oops" ybr="4"/></image></annotations>')
    with pytest.raises(LabelFormatError, match=r"cvat.xml: <image name='a.jpg'>.*xbr"):
        read_labels(str(xml))


def test_cvat_video_interpolation_outside_and_missing_frames(tmp_path, clip_factory):
    clip = clip_factory(frames=10)
    xml = tmp_path / (clip.stem + ".xml")
    xml.write_text('<annotations><version>1.1</version><meta><task><original_size><width>160</width>'
                   '<height>120</height></original_size></task></meta>'
                   '<track id="0" label="face"><box frame="2" outside="0" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
                   '<box frame="6" outside="0" keyframe="1" xtl="40" ytl="0" xbr="60" ybr="20"/>'
                   '<box frame="8" outside="1" keyframe="1" xtl="40" ytl="0" xbr="60" ybr="20"/></track></annotations>')
    samples = read_labels(str(xml), video=clip)
    assert [s.frame_index for s in samples] == [2, 3, 4, 5, 6, 7]
    assert samples[2].boxes.tolist() == [[20, 0, 40, 20]]  # frame 4: halfway between the keyframes
    assert samples[5].boxes.tolist() == [[40, 0, 60, 20]]  # held until the outside box at 8
    xml.write_text(xml.read_text().replace('frame="8"', 'frame="30"').replace('outside="1"', 'outside="0"'))
    with pytest.raises(LabelFormatError, match="reach frame 30 but .* has 10 frames"):
        read_labels(str(xml), video=clip)


def test_mot_and_own_output_round_trip(tmp_path, clip_factory, confident_checkpoint):
    from sshvideo.cli import main

    clip = clip_factory(frames=6)
    out = tmp_path / "o"
    assert main(["--quiet", "annotate", str(clip), "--weights", str(confident_checkpoint), "--out", str(out),
                 "--format", "jsonl,mot,cvat"]) == 0
    own = read_labels(str(out / f"{clip.stem}.jsonl"))
    mot = read_labels(f"mot={out / f'{clip.stem}.mot.txt'}", video=clip)
    cvat = read_labels(str(out / f"{clip.stem}.cvat.xml"), video=clip)
    assert [s.frame_index for s in own] == list(range(6)) == [s.frame_index for s in mot]
    assert [s.frame_index for s in cvat] == list(range(6))
    assert len(own[0].boxes) == len(mot[0].boxes) == len(cvat[0].boxes) > 0
    assert np.allclose(own[3].boxes, mot[3].boxes, atol=0.02) and np.allclose(own[3].boxes, cvat[3].boxes, atol=0.02)
    bad = tmp_path / "bad.txt"
    bad.write_text("0,1,2,3,4,5,1,1,1\n")
    with pytest.raises(LabelFormatError, match="bad.txt:1: MOT frames are 1-based"):
        read_labels(f"mot={bad}", video=clip)


def test_unknown_format_and_missing_path(tmp_path):
    odd = tmp_path / "labels.csv"
    odd.write_text("a,b\n")
    with pytest.raises(LabelFormatError, match="cannot tell the label format"):
        read_labels(str(odd))
    with pytest.raises(LabelFormatError, match="no such file"):
        read_labels(str(tmp_path / "nothing"))


def test_image_only_samples_train_without_pyav(monkeypatch, tmp_path):
    # A training machine may lack PyAV: only video labels need it.
    from training.video_frames import materialize_video_frames

    monkeypatch.setitem(sys.modules, "av", None)  # any `import av` now raises ImportError
    samples = read_labels(f"wider={DATA / 'wider_mini'}")
    assert materialize_video_frames(samples, tmp_path / "cache") == samples


# -- the registry: one valid file per format ------------------------------------------------------------------

CVAT_SIZE = '<meta><task><original_size><width>160</width><height>120</height></original_size></task></meta>'


def _valid_wider(folder, clip):
    (folder / "images" / "e").mkdir(parents=True)
    (folder / "images" / "e" / "a.jpg").write_bytes(IMAGE.read_bytes())
    (folder / "labels.txt").write_text("e/a.jpg\n1\n10 20 30 40 0 0 0 0 0 0\n")
    return folder, 1


def _valid_coco(folder, clip):
    (folder / IMAGE.name).write_bytes(IMAGE.read_bytes())
    path = folder / "faces.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": IMAGE.name, "width": 1024, "height": 683}],
                                "annotations": [{"image_id": 1, "bbox": [10, 20, 30, 40], "category_id": 1}],
                                "categories": [{"id": 1, "name": "face"}]}))
    return path, 1


def _valid_yolo(folder, clip):
    (folder / "images").mkdir()
    (folder / "labels").mkdir()
    (folder / "images" / "x.jpg").write_bytes(IMAGE.read_bytes())
    (folder / "labels" / "x.txt").write_text("0 0.5 0.5 0.1 0.2\n")
    return folder, 1


def _valid_voc(folder, clip):
    (folder / IMAGE.name).write_bytes(IMAGE.read_bytes())
    path = folder / "a.xml"
    path.write_text(f"<annotation><filename>{IMAGE.name}</filename><object><name>face</name><bndbox><xmin>11</xmin>"
                    "<ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object></annotation>")
    return path, 1


def _valid_cvat_images(folder, clip):
    (folder / IMAGE.name).write_bytes(IMAGE.read_bytes())
    path = folder / "cvat.xml"
    path.write_text(f'<annotations><version>1.1</version><image id="0" name="{IMAGE.name}" width="1024" '
                    'height="683"><box label="face" xtl="10" ytl="20" xbr="40" ybr="60"/></image></annotations>')
    return path, 1


def _valid_cvat_video(folder, clip):
    path = folder / "track.xml"
    path.write_text(f'<annotations><version>1.1</version>{CVAT_SIZE}<track id="0" label="face">'
                    '<box frame="1" outside="0" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
                    '<box frame="3" outside="1" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/></track></annotations>')
    return path, 2


def _valid_mot(folder, clip):
    path = folder / "gt.txt"
    path.write_text("1,1,10,10,20,20,1,1,1\n2,1,12,10,20,20,1,1,1\n")
    return path, 2


def _valid_sshvideo(folder, clip):
    path = folder / "out.jsonl"
    path.write_text(json.dumps({"sshvideo": "detections", "source": str(clip), "width": 160, "height": 120}) + "\n"
                    + json.dumps({"frame": 0, "faces": [{"box": [1, 2, 30, 40], "score": 0.9}]}) + "\n")
    return path, 1


VALID_FILES = {"wider": _valid_wider, "coco": _valid_coco, "yolo": _valid_yolo, "voc": _valid_voc,
               "cvat-images": _valid_cvat_images, "cvat-video": _valid_cvat_video, "mot": _valid_mot,
               "sshvideo": _valid_sshvideo}


def test_every_registered_reader_reads_and_recognises_a_valid_file_of_its_format(tmp_path, clip_factory):
    from training.readers import READERS, reader_names

    assert reader_names() == list(READERS) and set(VALID_FILES) == set(READERS)
    clip = clip_factory(frames=6)
    for name, reader in READERS.items():
        assert reader.name == name and reader.description and callable(reader.read)
        folder = tmp_path / name
        folder.mkdir()
        path, n_samples = VALID_FILES[name](folder, clip)
        assert reader.sniff is not None and reader.sniff(path), name
        assert detect_format(path) == name
        for samples in (reader.read(path, clip), read_labels(f"{name}={path}", video=clip),
                        read_labels(str(path), video=clip)):
            assert len(samples) == n_samples, name
            assert all(s.boxes.shape[1:] == (4,) for s in samples) and any(len(s.boxes) for s in samples), name


def test_a_reader_added_to_the_registry_is_read_and_detected(tmp_path, monkeypatch):
    from training import readers
    from training.readers.registry import Reader

    path = tmp_path / "faces.csv"
    path.write_text("a.jpg,1,2,3,4\n")
    reader = Reader("csv", "one box per line", lambda p, video=None: [readers.Sample(p.parent / "a.jpg",
                                                                                     np.zeros((1, 4)))],
                    lambda p: p.suffix == ".csv")
    monkeypatch.setitem(readers.READERS, "csv", reader)
    assert readers.detect_format(path) == "csv"
    assert len(read_labels(f"csv={path}")) == len(read_labels(str(path))) == 1
