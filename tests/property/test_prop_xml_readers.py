"""Mutated Pascal VOC, CVAT-for-images and CVAT-for-video XML: a result or a LabelFormatError."""
from __future__ import annotations

import pytest
from conftest import DATA, make_clip
from hypothesis import given
from property_helpers import SETTINGS, mutated, reads_or_refuses

from training.readers import read_labels

IMAGE = next((DATA / "wider_mini" / "images").rglob("*.jpg"))
VOC = (b"<annotation><filename>a.jpg</filename><size><width>1024</width><height>683</height></size>"
       b"<object><name>face</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>60</ymax></bndbox>"
       b"</object></annotation>")
CVAT_IMAGES = (b'<annotations><version>1.1</version><image id="0" name="a.jpg" width="1024" height="683">'
               b'<box label="face" xtl="10" ytl="20" xbr="40" ybr="60"/><box label="car" xtl="1" ytl="2" xbr="3" '
               b'ybr="4"/></image></annotations>')
CVAT_VIDEO = (b'<annotations><version>1.1</version><meta><task><original_size><width>160</width><height>120'
              b'</height></original_size></task></meta><track id="0" label="face">'
              b'<box frame="1" outside="0" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
              b'<box frame="3" outside="0" keyframe="1" xtl="40" ytl="0" xbr="60" ybr="20"/>'
              b'<box frame="5" outside="1" keyframe="1" xtl="40" ytl="0" xbr="60" ybr="20"/></track></annotations>')


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("xml_readers")
    (root / "a.jpg").write_bytes(IMAGE.read_bytes())
    make_clip(root / "clip.mp4", frames=8)
    return root


@SETTINGS
@given(data=mutated(VOC))
def test_mutated_voc(folder, data):
    path = folder / "a.xml"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"voc={p}"), path)


@SETTINGS
@given(data=mutated(CVAT_IMAGES))
def test_mutated_cvat_images(folder, data):
    path = folder / "images.xml"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"cvat-images={p}"), path)


@SETTINGS
@given(data=mutated(CVAT_VIDEO))
def test_mutated_cvat_video(folder, data):
    path = folder / "video.xml"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(f"cvat-video={p}", video=p.parent / "clip.mp4"), path)


@SETTINGS
@given(data=mutated(CVAT_IMAGES) | mutated(VOC))
def test_mutated_xml_format_detection(folder, data):
    path = folder / "guess.xml"
    path.write_bytes(data)
    reads_or_refuses(lambda p: read_labels(str(p), video=p.parent / "clip.mp4"), path)
