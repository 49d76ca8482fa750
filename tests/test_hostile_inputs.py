"""The project's security and robustness promises about hostile input files, one test per promise.

Every file a user hands us (labels, predictions, checkpoints, backbone weights) either works or fails
with the project's own error (``core.errors.SshvideoError``) naming the file, at a cost bounded by the
file (and, for video labels, by the video's real length). Any other exception is a bug.

Sections follow the items of issue 20 ("Nothing unhidden, nothing overwritten, nothing unbounded").
The hostile files are generated in ``tmp_path``.
"""
from __future__ import annotations

import json
import pickle

import pytest
import torch

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import model_config
from core.errors import LabelFormatError, SshvideoError
from core.model import build_ssh
from training.readers import read_labels
from training.wider_eval import read_prediction_dir, read_prediction_file

CVAT_VIDEO_HEAD = ('<annotations><version>1.1</version><meta><task><original_size><width>160</width>'
                   '<height>120</height></original_size></task></meta>')


@pytest.fixture
def lite_checkpoint(tmp_path):
    """A small valid checkpoint, and a function that writes a copy with its payload changed."""
    torch.manual_seed(0)
    cfg = model_config("ssh_lite")
    path = save_checkpoint(tmp_path / "lite.pt", build_ssh(cfg), cfg, {"inference": {"short_side": None}})

    def mutated(name, change):
        payload = torch.load(path, weights_only=True)
        change(payload)
        out = tmp_path / name
        torch.save(payload, out)
        return out

    return path, mutated


# -- item 3: a tiny label file must not cost minutes and gigabytes -----------------------------------------------

@pytest.mark.parametrize("last_frame", [20_000_000, 1_000_000_000])
def test_cvat_keyframes_beyond_the_video_are_refused_before_interpolating(tmp_path, clip_factory, monkeypatch,
                                                                          last_frame):
    from training.readers import cvat

    calls = []
    real_checked_box = cvat.checked_box

    def counting_checked_box(*args):
        calls.append(1)
        if len(calls) > 1000:  # a 10-frame clip needs ~10; fail fast instead of eating the machine
            raise AssertionError("interpolating frames beyond the video")
        return real_checked_box(*args)

    monkeypatch.setattr(cvat, "checked_box", counting_checked_box)
    clip = clip_factory(frames=10)
    xml = tmp_path / "tiny.xml"
    xml.write_text(CVAT_VIDEO_HEAD + '<track id="0" label="face">'
                   '<box frame="0" outside="0" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
                   f'<box frame="{last_frame}" outside="0" keyframe="1" xtl="40" ytl="0" xbr="60" ybr="20"/>'
                   '</track></annotations>')
    assert xml.stat().st_size < 500
    with pytest.raises(LabelFormatError, match=rf"tiny.xml: .*reach frame {last_frame} but .* has 10 frames"):
        read_labels(f"cvat-video={xml}", video=clip)
    assert len(calls) <= 20


def test_cvat_outside_keyframe_at_the_end_of_the_video_is_still_accepted(tmp_path, clip_factory):
    clip = clip_factory(frames=10)
    xml = tmp_path / "end.xml"
    xml.write_text(CVAT_VIDEO_HEAD + '<track id="0" label="face">'
                   '<box frame="7" outside="0" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
                   '<box frame="10" outside="1" keyframe="1" xtl="0" ytl="0" xbr="20" ybr="20"/>'
                   '</track></annotations>')
    assert [s.frame_index for s in read_labels(f"cvat-video={xml}", video=clip)] == [7, 8, 9]


# -- item 7: eval never scores a missing or malformed prediction set as AP 0 ----------------------------------

def test_eval_refuses_a_missing_prediction_folder(tmp_path):
    with pytest.raises(LabelFormatError, match="nowhere"):
        read_prediction_dir(tmp_path / "nowhere", ["0--Parade/0_a"])


def test_eval_refuses_an_empty_prediction_folder(tmp_path):
    (tmp_path / "preds").mkdir()
    with pytest.raises(LabelFormatError, match=r"preds: no prediction files"):
        read_prediction_dir(tmp_path / "preds", ["0--Parade/0_a", "0--Parade/0_b"])


@pytest.mark.parametrize("rows,message", [
    ("1\n10 10 20 20 -0.5\n", r":3: .*negative score"),
    ("1\n10 10 -20 20 0.5\n", r":3: .*negative width or height"),
    ("1\n10 10 20 -1 0.5\n", r":3: .*negative width or height"),
    ("1\n10 10 20 20 0.9\n30 30 20 20 0.8\n", r":4: .*more box lines than the count 1"),
    ("0\n10 10 20 20 0.9\n", r":3: .*more box lines than the count 0"),
])
def test_prediction_files_are_read_strictly(tmp_path, rows, message):
    path = tmp_path / "0_a.txt"
    path.write_text("0_a\n" + rows)
    with pytest.raises(LabelFormatError, match="0_a.txt" + message):
        read_prediction_file(path)


def test_a_valid_prediction_file_with_trailing_blank_lines_still_reads(tmp_path):
    path = tmp_path / "0_a.txt"
    path.write_text("0_a\n2\n10 10 20 20 0.9\n30 30 0 20 1.5\n\n\n")
    assert read_prediction_file(path).tolist() == [[10, 10, 20, 20, 0.9], [30, 30, 0, 20, 1.5]]


# -- item 9: messages instead of tracebacks -------------------------------------------------------------------

def _coco(image_id=1, category_id=1, annotation_image_id=1):
    return {"images": [{"id": image_id, "file_name": "a.jpg", "width": 100, "height": 100}],
            "annotations": [{"image_id": annotation_image_id, "bbox": [1, 2, 3, 4], "category_id": category_id}],
            "categories": [{"id": 1, "name": "face"}]}


@pytest.mark.parametrize("data", [
    _coco(image_id=[1]),
    _coco(annotation_image_id=[1]),
    _coco(category_id={"a": 1}),
    dict(_coco(), categories=[{"id": [1], "name": "face"}]),
    dict(_coco(), categories=7),
    dict(_coco(), images=[[1, "a.jpg"]]),
], ids=["image-id", "annotation-image-id", "category-id", "category-list-id", "categories-int", "image-list"])
def test_coco_with_list_valued_ids_is_refused_with_a_message(tmp_path, data):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LabelFormatError, match="hostile.json"):
        read_labels(f"coco={path}")


@pytest.mark.parametrize("fmt,suffix", [("coco", ".json"), ("sshvideo", ".jsonl")])
def test_deeply_nested_json_is_refused_with_a_message(tmp_path, fmt, suffix):
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LabelFormatError, match=f"deep{suffix}.*nested"):
        read_labels(f"{fmt}={path}")


@pytest.mark.parametrize("fmt,suffix", [("coco", ".json"), ("sshvideo", ".jsonl")])
def test_json_integers_beyond_the_parser_limit_are_refused_with_a_message(tmp_path, fmt, suffix):
    path = tmp_path / f"long{suffix}"
    path.write_text('{"images": [], "annotations": [], "x": ' + "9" * 5000 + "}")
    with pytest.raises(LabelFormatError, match=f"long{suffix}"):
        read_labels(f"{fmt}={path}")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "nan"])
def test_mot_frame_inf_is_refused_with_a_message(tmp_path, clip_factory, value):
    clip = clip_factory(frames=4)
    path = tmp_path / "gt.txt"
    path.write_text(f"{value},1,10,10,20,20,1,1,1\n")
    with pytest.raises(LabelFormatError, match="gt.txt:1"):
        read_labels(f"mot={path}", video=clip)


@pytest.mark.parametrize("value", ["inf", "nan", "1e999"])
def test_wider_and_yolo_infinite_numbers_are_refused_with_a_message(tmp_path, value):
    from conftest import DATA

    image = next((DATA / "wider_mini" / "images").rglob("*.jpg"))
    (tmp_path / "images" / "e").mkdir(parents=True)
    (tmp_path / "images" / "e" / "a.jpg").write_bytes(image.read_bytes())
    (tmp_path / "labels.txt").write_text(f"e/a.jpg\n1\n{value} 1 10 10 0 0 0 0 0 0\n")
    with pytest.raises(LabelFormatError, match="labels.txt:3"):
        read_labels(f"wider={tmp_path}")
    yolo = tmp_path / "yolo"
    (yolo / "images").mkdir(parents=True)
    (yolo / "labels").mkdir()
    (yolo / "images" / "a.jpg").write_bytes(image.read_bytes())
    (yolo / "labels" / "a.txt").write_text(f"{value} 0.5 0.5 0.1 0.1\n")
    with pytest.raises(LabelFormatError, match="a.txt:1"):
        read_labels(f"yolo={yolo}")


def test_yolo_label_file_that_is_not_utf8_is_refused_with_a_message(tmp_path):
    from conftest import DATA

    image = next((DATA / "wider_mini" / "images").rglob("*.jpg"))
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(image.read_bytes())
    (tmp_path / "labels" / "a.txt").write_bytes(b"0 0.5 0.5 \xff\xfe 0.1\n")
    with pytest.raises(LabelFormatError, match="a.txt"):
        read_labels(f"yolo={tmp_path}")


@pytest.mark.parametrize("header,record", [
    ({"width": "wide", "height": 120}, {"frame": 0, "faces": [{"box": [1, 2, 30, 40], "score": 0.9}]}),
    ({"width": 160, "height": [1]}, {"frame": 0, "faces": [{"box": [1, 2, 30, 40], "score": 0.9}]}),
    ({"width": 160, "height": 120, "source": 7}, {"frame": 0, "faces": []}),
    ({"width": 160, "height": 120}, {"frame": True, "faces": []}),
    (None, {"image": 12, "faces": []}),
    (None, {"image": "a.jpg", "width": "wide", "height": 9, "faces": [{"box": [1, 2, 3, 4]}]}),
], ids=["width-text", "height-list", "source-int", "frame-bool", "image-int", "image-width-text"])
def test_jsonl_width_given_as_text_is_refused_with_a_message(tmp_path, header, record):
    path = tmp_path / "out.jsonl"
    lines = []
    if header is not None:
        lines.append(json.dumps({"sshvideo": "detections", "source": str(tmp_path / "v.mp4"), **header}))
    lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LabelFormatError, match="out.jsonl"):
        read_labels(f"sshvideo={path}")


def test_invalid_utf8_prediction_file_is_refused_with_a_message(tmp_path):
    path = tmp_path / "0_a.txt"
    path.write_bytes(b"0_a\n1\n10 10 20 20 \xff\xfe\n")
    with pytest.raises(LabelFormatError, match="0_a.txt"):
        read_prediction_file(path)


def test_pickle_given_as_backbone_weights_is_a_checkpoint_error(tmp_path):
    from core.backbones.vgg16 import VGG16Backbone, load_torchvision_vgg16

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "vgg16.pth"
    with path.open("wb") as fh:
        pickle.dump({"features.0.weight": Evil()}, fh)
    with pytest.raises(CheckpointError, match="vgg16.pth"):
        load_torchvision_vgg16(VGG16Backbone(), path)


@pytest.mark.parametrize("content", [
    b"not weights at all" * 10,
    "tensor-dict-of-the-wrong-network",
    "not-a-dict",
    "nan-weights",
], ids=["garbage", "other-network", "not-a-dict", "nan"])
def test_unusable_backbone_weights_are_a_checkpoint_error(tmp_path, content):
    from core.backbones.vgg16 import VGG16Backbone, load_torchvision_vgg16

    path = tmp_path / "vgg16.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "tensor-dict-of-the-wrong-network":
        torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    elif content == "not-a-dict":
        torch.save([torch.zeros(2)], path)
    else:
        from core.backbones.vgg16 import torchvision_feature_indices

        state = {f"features.{i}.{kind}": VGG16Backbone().convs[name].state_dict()[kind]
                 for name, i in torchvision_feature_indices().items() for kind in ("weight", "bias")}
        state["features.0.weight"][0, 0, 0, 0] = float("nan")
        torch.save(state, path)
    with pytest.raises(CheckpointError, match="vgg16.pth"):
        load_torchvision_vgg16(VGG16Backbone(), path)


@pytest.mark.parametrize("change", [
    lambda p: p["model"]["levels"][0].update(channels=-8),
    lambda p: p["model"]["levels"][0].update(channels=10 ** 9),
    lambda p: p["model"]["levels"][1].update(channels=33),
    lambda p: p["model"].update(fusion_channels=0),
    lambda p: p["model"].update(fusion_channels=2 ** 40),
    lambda p: p["model"]["levels"][2].update(anchor_sizes=[]),
    lambda p: p["model"]["levels"][2].update(anchor_sizes=[-16]),
    lambda p: p["model"]["levels"][2].update(stride=7),
    lambda p: p["model"]["levels"][2].update(name="m.3"),
    lambda p: p["model"]["levels"][2].update(allowed_border=-1),
    lambda p: p["model"].update(backbone="resnet9000"),
    lambda p: p["model"].update(batch_norm="no"),
    lambda p: p["model"]["normalization"].update(std=[0.0, 1.0, 1.0]),
    lambda p: p["model"]["normalization"].update(scale=float("nan")),
    lambda p: p["model"]["normalization"].update(mean=[0.5]),
    lambda p: p["model"].update(levels="m1"),
], ids=["negative-channels", "huge-channels", "odd-channels", "zero-fusion", "huge-fusion", "no-anchors",
        "negative-anchor", "stride", "dotted-name", "negative-border", "backbone", "bool-as-text", "zero-std",
        "nan-scale", "short-mean", "levels-text"])
def test_checkpoint_with_negative_or_huge_channel_counts_is_refused(lite_checkpoint, change):
    _, mutated = lite_checkpoint
    path = mutated("badcfg.pt", change)
    with pytest.raises(CheckpointError, match="badcfg.pt: invalid model config"):
        load_checkpoint(path)


@pytest.mark.parametrize("inference", [
    {"short_side": -5}, {"max_side": 10 ** 9}, {"short_side": "big"}, {"top_k_per_level": 0},
    {"top_k_per_level": 10 ** 12}, {"score_threshold": float("nan")}, {"score_threshold": 1.5},
    {"nms_threshold": 0}, {"vote_threshold": -1.0}, {"pad_bottom": -3}, {"pyramid": "yes"}, [1, 2],
])
def test_checkpoint_with_bad_inference_settings_is_refused(lite_checkpoint, inference):
    _, mutated = lite_checkpoint
    path = mutated("badinf.pt", lambda p: p["metadata"].update(inference=inference))
    with pytest.raises(CheckpointError, match="badinf.pt: invalid inference settings"):
        load_checkpoint(path)


def test_checkpoint_with_metadata_that_is_not_a_dict_is_refused(lite_checkpoint):
    _, mutated = lite_checkpoint
    path = mutated("badmeta.pt", lambda p: p.update(metadata=[1, 2, 3]))
    with pytest.raises(CheckpointError, match="badmeta.pt: metadata"):
        load_checkpoint(path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_checkpoint_with_non_finite_weights_is_refused(lite_checkpoint, value):
    _, mutated = lite_checkpoint

    def poison(payload):
        key = next(k for k, v in payload["state_dict"].items() if v.is_floating_point() and v.numel() > 1)
        payload["state_dict"][key].view(-1)[1] = value

    path = mutated("poisoned.pt", poison)
    with pytest.raises(CheckpointError, match="poisoned.pt: .*not finite"):
        load_checkpoint(path)


def test_a_valid_checkpoint_still_loads_and_builds(lite_checkpoint):
    path, _ = lite_checkpoint
    ckpt = load_checkpoint(path)
    assert ckpt.config == model_config("ssh_lite")
    ckpt.build_model()


# -- item 10: XML label files never expand entities, whatever their encoding -----------------------------------

def _billion_laughs(root: str, declared: str) -> str:
    return (f'<?xml version="1.0" encoding="{declared}"?>'
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            f'<{root}><filename>&lol2;</filename></{root}>')


@pytest.mark.parametrize("codec,bom", [("utf-8", b""), ("utf-16", b""), ("utf-16-le", b"\xff\xfe"),
                                       ("utf-16-be", b"\xfe\xff"), ("utf-16-be", b"")],
                         ids=["utf-8", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-16-be"])
@pytest.mark.parametrize("root", ["annotation", "annotations"])
def test_utf16_xml_with_entities_is_refused(tmp_path, codec, bom, root):
    path = tmp_path / "hostile.xml"
    path.write_bytes(bom + _billion_laughs(root, "UTF-8" if codec == "utf-8" else "UTF-16").encode(codec))
    fmt = "voc" if root == "annotation" else "cvat-images"
    with pytest.raises(LabelFormatError, match="hostile.xml: DTDs and entity"):
        read_labels(f"{fmt}={path}")
    with pytest.raises(LabelFormatError, match="hostile.xml: DTDs and entity"):
        read_labels(str(path))  # format detection parses it too


@pytest.mark.parametrize("codec,declared", [("utf-32", "UTF-32"), ("utf-16-le", "UTF-16-LE")])
def test_xml_in_an_encoding_the_parser_cannot_read_is_refused_with_a_message(tmp_path, codec, declared):
    path = tmp_path / "odd.xml"
    path.write_bytes(b"\xff\xfe" * (codec == "utf-16-le") + _billion_laughs("annotation", declared).encode(codec))
    with pytest.raises(LabelFormatError, match="odd.xml"):
        read_labels(f"voc={path}")


def test_xml_with_an_external_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    path = tmp_path / "xxe.xml"
    path.write_text(f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><annotation><filename>&x;</filename>'
                    '</annotation>')
    with pytest.raises(LabelFormatError, match="xxe.xml: DTDs and entity"):
        read_labels(f"voc={path}")


def test_every_refusal_here_is_the_projects_own_error():
    assert issubclass(LabelFormatError, SshvideoError) and issubclass(CheckpointError, SshvideoError)


def test_label_file_naming_an_image_too_long_for_the_os_is_refused_with_a_message(tmp_path):
    """Found by the property layer: Path.is_file() raises OSError (ENAMETOOLONG) for such names."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels.txt").write_text("[" * 5000 + "e/a.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n")
    with pytest.raises(LabelFormatError, match="labels.txt:1: image not found"):
        read_labels(f"wider={tmp_path}")
    voc = tmp_path / "long.xml"
    voc.write_text(f"<annotation><filename>{'x' * 5000}.jpg</filename></annotation>")
    with pytest.raises(LabelFormatError, match="long.xml: image"):
        read_labels(f"voc={voc}")


# == The command line: options, outputs and batches (issue 20 items 1, 2, 4, 5, 6, 8, 9, 10) ================
# Covered elsewhere, beside the code they pin: image files (item 2/6a) in tests/training/test_images.py;
# the detector's size cap (6b) in tests/core/test_max_pixels.py; frame numbering by timestamp and the
# capture's loss counters (8), start/end validation, stalled streams and `video=`/`lavfi:` file names (9, 10)
# in tests/sshvideo/test_capture.py and tests/sshvideo/test_sources.py; odd frame sizes (10) in
# tests/sshvideo/test_video_writer.py; the viewer's Ctrl-C (10) in tests/gui/test_app.py and the xcb check
# (11) in tests/gui/test_platform_check.py.

def _cli(*args) -> int:
    from sshvideo.cli import main

    return main(["--quiet", *map(str, args)])


def _parser_refuses(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        _cli(*args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


# -- item 1: a render mode that leaves a detected face visible cannot be asked for ------------------------------

@pytest.mark.parametrize("mode,scale", [("blur", "0"), ("blur", "-1"), ("blur", "nan"), ("mosaic", "0.1"),
                                        ("solid", "inf")])
def test_a_mask_smaller_than_the_face_is_refused(tmp_path, capsys, mode, scale):
    err = _parser_refuses(capsys, "annotate", tmp_path, "--render", mode, "--mask-scale", scale)
    assert "--mask-scale" in err


@pytest.mark.parametrize("mode", ["blur", "mosaic", "solid"])
def test_every_hiding_mode_changes_the_whole_face(mode):
    import numpy as np

    from core.inference import Detections
    from sshvideo.render import RenderSettings, render

    frame = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    dets = Detections(np.array([[50, 60, 130, 160]], np.float32), np.array([0.9], np.float32))
    out = render(frame, dets, mode, RenderSettings(mask_scale=1.0))
    yy, xx = np.mgrid[0:200, 0:200]
    inside = ((xx - 90) / 40) ** 2 + ((yy - 110) / 50) ** 2 < 0.95  # the ellipse inscribed in the face box
    changed = np.abs(out.astype(int) - frame.astype(int)).sum(axis=2) > 0
    assert changed[inside].mean() > 0.97


# -- item 2: one broken image is a named, skipped failure ------------------------------------------------------

@pytest.mark.video
def test_a_zero_byte_image_is_skipped_by_name_and_the_others_are_detected(tmp_path, capsys, confident_checkpoint):
    import shutil

    from conftest import DATA

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a_empty.jpg").write_bytes(b"")
    shutil.copy(next((DATA / "val_images").rglob("*.jpg")), photos / "b_face.jpg")
    assert _cli("detect", photos, "--weights", confident_checkpoint, "--out", tmp_path / "found") == 1
    assert "a_empty.jpg" in capsys.readouterr().err
    assert (tmp_path / "found" / "b_face.txt").is_file()
    assert len((tmp_path / "found" / "detections.jsonl").read_text().splitlines()) == 1


# -- item 4: outputs never collide, an existing run is never replaced -----------------------------------------

@pytest.mark.video
def test_inputs_with_the_same_stem_get_distinct_outputs(tmp_path, clip_factory, confident_checkpoint):
    import shutil

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip_factory(frames=3), videos / "clip.mp4")
    shutil.copy(clip_factory(frames=5, size=(96, 64)), videos / "clip.mkv")
    out = tmp_path / "out"
    assert _cli("annotate", videos, "--weights", confident_checkpoint, "--out", out, "--format", "jsonl,csv") == 0
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["clip.mkv.jsonl", "clip.mp4.jsonl"]
    assert json.loads((out / "clip.mkv.jsonl").read_text().splitlines()[0])["width"] == 96


def test_the_same_file_name_from_two_folders_is_refused_not_overwritten(tmp_path):
    from sshvideo.inputs import VIDEO_SUFFIXES, expand_inputs

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"x")
    inputs, problems = expand_inputs([str(tmp_path / "a" / "clip.mp4"), str(tmp_path / "b" / "clip.mp4")],
                                     VIDEO_SUFFIXES)
    assert [i.path.parent.name for i in inputs] == ["a"]
    assert len(problems) == 1 and "would overwrite" in problems[0]


def test_images_with_the_same_stem_get_distinct_prediction_files(tmp_path):
    from sshvideo.inputs import IMAGE_SUFFIXES, expand_inputs

    for name in ("x.jpg", "x.png", "y.jpg"):
        (tmp_path / name).write_bytes(b"x")
    inputs, problems = expand_inputs([str(tmp_path)], IMAGE_SUFFIXES)
    assert not problems and sorted(str(i.output_base) for i in inputs) == ["x.jpg", "x.png", "y"]


def test_training_into_an_existing_run_without_resume_is_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"a previous run")
    assert _cli("train", "--data", tmp_path, "--out", tmp_path / "run") == 2
    assert "holds a run already" in capsys.readouterr().err
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"a previous run"


# -- item 5: a run's outputs and temporaries are never its inputs; stale temporaries are removed --------------

@pytest.mark.video
def test_annotating_a_folder_that_holds_the_output_folder_skips_the_outputs(tmp_path, clip_factory,
                                                                             confident_checkpoint, monkeypatch):
    import shutil

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip_factory(frames=3), videos / "talk.mp4")
    monkeypatch.chdir(videos)
    for _ in range(2):  # the second run finds ./annotated/talk_boxes.mp4 inside its input folder
        assert _cli("annotate", ".", "--weights", confident_checkpoint, "--render", "boxes") == 0
    assert sorted(p.name for p in (videos / "annotated").iterdir()) == [
        "talk.jsonl", "talk.sshvideo.json", "talk_boxes.mp4"]


def test_temporaries_of_a_killed_run_are_removed_and_a_live_runs_kept(tmp_path):
    import os
    import subprocess
    import sys

    from core.atomic import _host, remove_stale_partials
    from sshvideo.inputs import VIDEO_SUFFIXES, expand_inputs

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".talk.@{_host()}+{int(dead.stdout)}@.abc.partial.mp4"
    alive = tmp_path / f".other.@{_host()}+{os.getpid()}@.abc.partial.mp4"
    for path in (killed, alive):
        path.write_bytes(b"half a video")
    assert expand_inputs([str(tmp_path)], VIDEO_SUFFIXES)[0] == []  # never inputs
    assert remove_stale_partials(tmp_path) == [killed]
    assert alive.exists() and not killed.exists()


# -- item 6: a decompression bomb is refused before decoding ---------------------------------------------------

def test_a_20000_pixel_png_is_refused_from_its_header(tmp_path):
    import struct
    import zlib

    from core.errors import ImageReadError
    from training.images import read_image_rgb

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"  # a valid header; the pixel data need not even be there
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                     + chunk(b"IEND", b""))
    with pytest.raises(ImageReadError, match=r"bomb\.png.*20000"):
        read_image_rgb(bomb)


def test_the_detection_size_cap_is_an_option(tmp_path, capsys):
    from sshvideo.commands.common import DetectorOptions
    from sshvideo.cli import build_parser

    args = build_parser("detect").parse_args(["detect", "x.jpg", "--max-megapixels", "2"])
    assert DetectorOptions.from_args(args).max_pixels == 2_000_000
    assert "--max-megapixels" in _parser_refuses(capsys, "detect", tmp_path, "--max-megapixels", "0")


# -- item 9: every bad option is a usage message naming it, before any work starts ----------------------------

@pytest.mark.parametrize("args,option", [
    (["annotate", ".", "--start", "-5"], "--start"), (["annotate", ".", "--start", "nan"], "--start"),
    (["annotate", ".", "--end", "inf"], "--end"), (["annotate", ".", "--batch", "-1"], "--batch"),
    (["annotate", ".", "--every", "0"], "--every"), (["annotate", ".", "--thresh", "nan"], "--thresh"),
    (["detect", ".", "--thresh", "1.5"], "--thresh"), (["detect", ".", "--size", "big"], "--size"),
    (["train", "--data", ".", "--out", "r", "--lr", "nan"], "--lr"),
    (["train", "--data", ".", "--out", "r", "--steps", "0"], "--steps"),
    (["train", "--data", ".", "--out", "r", "--mix-ratio", "2"], "--mix-ratio"),
    (["view", "--fps", "-30"], "--fps"),
])
def test_bad_option_values_are_usage_errors_naming_the_option(capsys, args, option):
    assert option in _parser_refuses(capsys, *args)


def test_end_before_start_is_a_usage_error(tmp_path, capsys):
    assert _cli("annotate", tmp_path, "--start", "5", "--end", "2") == 2
    assert "--end" in capsys.readouterr().err


# -- item 10: --skip-existing only skips outputs made with the same settings; training flags that would be
# -- ignored or mislabel the run are refused ---------------------------------------------------------------

@pytest.mark.video
def test_skip_existing_redoes_outputs_made_with_other_settings(tmp_path, clip_factory, confident_checkpoint, capsys,
                                                               caplog):
    clip = clip_factory(frames=4)
    out = tmp_path / "out"
    common = ["annotate", clip, "--weights", confident_checkpoint, "--out", out, "--skip-existing"]
    assert _cli(*common, "--thresh", "0.9") == 0
    assert _cli(*common, "--thresh", "0.9") == 0
    assert "skipped (outputs exist, same settings)" in capsys.readouterr().out
    assert _cli(*common, "--thresh", "0.3", "--end", "0.2") == 0
    assert "skipped (" not in capsys.readouterr().out
    assert "other settings (end, threshold)" in caplog.text
    header = json.loads((out / f"{clip.stem}.jsonl").read_text().splitlines()[0])
    assert header["threshold"] == 0.3


def test_init_from_and_resume_together_are_refused(tmp_path, capsys):
    err = _parser_refuses(capsys, "train", "--data", tmp_path, "--out", tmp_path / "r", "--resume", "a.pt",
                          "--init-from", "b.pt")
    assert "not allowed with argument" in err


def test_a_checkpoint_of_another_network_than_model_names_is_refused(tmp_path, capsys, lite_checkpoint):
    path, _ = lite_checkpoint
    assert _cli("train", "--model", "ssh_vgg16", "--init-from", path, "--data", tmp_path,
                "--out", tmp_path / "r") == 2
    assert "not ssh_vgg16" in capsys.readouterr().err
