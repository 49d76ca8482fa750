"""``sshvideo export`` / ``core.export``: the exported files give the detections of ``Detector.detect``
through the standalone reference post-processing of ``docs/export_example.py`` (the README's examples),
in ONNX Runtime, OpenCV's ``cv2.dnn`` and TorchScript; their metadata round-trips."""
import argparse
import importlib.util
import json
from dataclasses import replace

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import DATA, REPO

from core import Detector, load_checkpoint
from core.errors import UserError
from core.export import EXPORTERS, ExportSettings, export_checkpoint, read_metadata
from core.inference import InferenceConfig
from core.weights import DEFAULT_WEIGHTS
from sshvideo.cli import main
from sshvideo.commands import export as export_command

VAL_IMAGE = DATA / "val_images" / "13--Interview" / "13_Interview_Interview_Sequences_13_108.jpg"  # 1024×342
MINI_IMAGE = DATA / "wider_mini" / "images" / "13--Interview" / "13_Interview_Interview_On_Location_13_719.jpg"
BOX_TOLERANCE, SCORE_TOLERANCE = 0.5, 1e-3  # pixels, probability
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def _load_example():
    spec = importlib.util.spec_from_file_location("export_example", REPO / "docs" / "export_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def checkpoint():
    return load_checkpoint(DEFAULT_WEIGHTS)


@pytest.fixture(scope="module")
def inference(checkpoint):
    return InferenceConfig.from_dict(checkpoint.metadata["inference"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory, checkpoint, inference):
    """The embedded model as dynamic ONNX, fixed-size ONNX (the val image's size) and TorchScript."""
    folder = tmp_path_factory.mktemp("export")
    height, width = _rgb(VAL_IMAGE).shape[:2]
    files = {}
    for name, fmt, size in (("dynamic.onnx", "onnx", None), ("fixed.onnx", "onnx", (height, width)),
                            ("dynamic.ts.pt", "torchscript", None)):
        files[name] = folder / name
        metadata = export_checkpoint(checkpoint, files[name], fmt, ExportSettings(size=size, inference=inference))
        files[name + ":metadata"] = metadata
    return files


@pytest.fixture(scope="module")
def reference():
    """``Detector.detect`` (eager torch) with the checkpoint's own settings, per test image."""
    detector = _eager_detector(load_checkpoint(DEFAULT_WEIGHTS))
    return {path: detector.detect([_rgb(path)])[0] for path in (VAL_IMAGE, MINI_IMAGE)}


def _eager_detector(checkpoint, **overrides):
    """The torch path without tracing (same detections as the traced one, tested in tests/core; faster
    to build for one or two images)."""
    inference = replace(InferenceConfig.from_dict(checkpoint.metadata["inference"]), **overrides)
    return Detector(checkpoint.build_model(), checkpoint.config, device="cpu", inference=inference,
                    optimize=False, backend="torch")


def assert_same_detections(got, expected):
    boxes, scores = got
    assert len(expected) >= 3 and len(scores) == len(expected), (len(scores), len(expected))
    assert np.abs(boxes - expected.boxes).max() <= BOX_TOLERANCE
    assert np.abs(scores - expected.scores).max() <= SCORE_TOLERANCE


@pytest.mark.parametrize("image", [VAL_IMAGE, MINI_IMAGE], ids=["val", "mini"])
@pytest.mark.parametrize("runtime", ["onnxruntime", "opencv"])
def test_dynamic_onnx_gives_the_detections_of_the_detector(exported, reference, runtime, image):
    detect = {"onnxruntime": example.detect_onnxruntime, "opencv": example.detect_opencv}[runtime]
    assert_same_detections(detect(str(exported["dynamic.onnx"]), _rgb(image)), reference[image])


@pytest.mark.parametrize("runtime", ["onnxruntime", "opencv"])
def test_fixed_size_onnx_gives_the_detections_of_the_detector(exported, reference, runtime):
    detect = {"onnxruntime": example.detect_onnxruntime, "opencv": example.detect_opencv}[runtime]
    assert_same_detections(detect(str(exported["fixed.onnx"]), _rgb(VAL_IMAGE)), reference[VAL_IMAGE])
    session = ort.InferenceSession(str(exported["fixed.onnx"]), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 3, 342, 1024]


@pytest.mark.parametrize("image", [VAL_IMAGE, MINI_IMAGE], ids=["val", "mini"])
def test_torchscript_gives_the_detections_of_the_detector(exported, reference, image):
    assert_same_detections(example.detect_torchscript(str(exported["dynamic.ts.pt"]), _rgb(image)), reference[image])


def test_dynamic_onnx_takes_a_batch_and_returns_k_candidates_per_module(exported, checkpoint, inference):
    session = ort.InferenceSession(str(exported["dynamic.onnx"]), providers=["CPUExecutionProvider"])
    meta = exported["dynamic.onnx:metadata"]
    pixels, _, _ = example.prepare(_rgb(VAL_IMAGE), meta)
    boxes, scores = session.run(["boxes", "scores"], {"images": np.concatenate([pixels, pixels])})
    k = inference.top_k_per_level * len(checkpoint.config.levels)
    assert boxes.shape == (2, k, 4) and scores.shape == (2, k)
    np.testing.assert_allclose(boxes[0], boxes[1], atol=1e-4)
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-6)


def test_resized_detection_matches_the_detector_resize_rule(exported, checkpoint):
    """The example's resize (SSH rule from the metadata) and rescaling equal the detector's at another size."""
    session = ort.InferenceSession(str(exported["dynamic.onnx"]), providers=["CPUExecutionProvider"])
    meta = json.loads(json.dumps(exported["dynamic.onnx:metadata"]))
    meta["postprocess"].update(short_side=250, max_side=1600)
    rgb = _rgb(VAL_IMAGE)
    pixels, scale, frame = example.prepare(rgb, meta)
    assert pixels.shape[2:] == (250, 749) and frame == (250, 749)
    boxes, scores = session.run(["boxes", "scores"], {"images": pixels})
    got = example.postprocess(boxes[0], scores[0], meta, frame, scale)
    [expected] = _eager_detector(checkpoint, short_side=250, max_side=1600).detect([rgb])
    # the example resizes with cv2, the detector with torch (both bilinear on floats): scores move by ~1e-5
    assert_same_detections(got, expected)


def test_metadata_round_trips_from_onnx_and_torchscript(exported, checkpoint, inference):
    for name in ("dynamic.onnx", "fixed.onnx", "dynamic.ts.pt"):
        written = exported[name + ":metadata"]
        assert read_metadata(exported[name]) == json.loads(json.dumps(written))
    meta = read_metadata(exported["dynamic.ts.pt"])
    assert meta["format"] == "sshvideo-ssh-export" and meta["exported_as"] == "torchscript"
    post = meta["postprocess"]
    assert (post["score_threshold"], post["nms_threshold"], post["vote_threshold"], post["top_k_per_level"]) == (
        inference.score_threshold, inference.nms_threshold, inference.vote_threshold, inference.top_k_per_level)
    assert meta["model"] == checkpoint.config.to_dict()
    assert [(a["stride"], a["sizes"]) for a in meta["anchors"]] == [(8, [16, 32]), (16, [64, 128]), (32, [256, 512])]
    assert meta["box_coding"]["convention"] == "+1"
    assert meta["input"]["channel_order"] == "RGB" and meta["input"]["layout"] == "NCHW"
    assert meta["input"]["size"] is None and read_metadata(exported["fixed.onnx"])["input"]["size"] == [342, 1024]
    assert meta["input"]["mean_pixel"] == pytest.approx([127.5] * 3)  # ssh_lite: (pixel / 255 - 0.5) / 0.5
    summary = meta["checkpoint"]
    assert summary["name"] == "ssh_lite_wider.pt" and len(summary["sha256"]) == 64
    assert summary["steps"] == checkpoint.metadata["steps"] and "train_config" not in summary
    session = ort.InferenceSession(str(exported["dynamic.onnx"]), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["sshvideo"]) == read_metadata(exported["dynamic.onnx"])


def test_raw_outputs_are_the_networks_own_maps(tmp_path, checkpoint, inference):
    path = tmp_path / "raw.onnx"
    meta = export_checkpoint(checkpoint, path, "onnx", ExportSettings(size=(96, 160), outputs="raw", inference=inference))
    assert meta["outputs"]["names"] == ["m1_cls_logits", "m1_bbox_deltas", "m2_cls_logits", "m2_bbox_deltas",
                                        "m3_cls_logits", "m3_bbox_deltas"]
    pixels = example.prepare(_rgb(VAL_IMAGE)[:96, 400:560], meta)[0]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": pixels})
    norm = checkpoint.config.normalization
    normalised = (torch.from_numpy(pixels) * norm.scale - torch.tensor(norm.mean).view(1, 3, 1, 1)) / torch.tensor(
        norm.std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = [t.numpy() for pair in checkpoint.build_model().eval()(normalised) for t in pair]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=2e-3, rtol=1e-3)


def test_half_onnx_loads_in_onnxruntime_with_float32_inputs_and_outputs(tmp_path, reference, capsys):
    out = tmp_path / "half.onnx"
    assert main(["export", "--half", "--out", str(out)]) == 0
    assert "float16" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.type for i in session.get_inputs() + session.get_outputs()] == ["tensor(float)"] * 3
    assert read_metadata(out)["outputs"]["half"] is True
    boxes, scores = example.detect_onnxruntime(str(out), _rgb(VAL_IMAGE))
    expected = reference[VAL_IMAGE]
    top = min(5, len(expected))  # float16 moves scores by ~1e-3: compare the confident detections
    assert np.abs(boxes[:top] - expected.boxes[:top]).max() < 1.0
    assert np.abs(scores[:top] - expected.scores[:top]).max() < 5e-3


def test_half_torchscript_loads_with_float16_weights(tmp_path):
    out = tmp_path / "half.ts.pt"
    assert main(["export", "--format", "torchscript", "--half", "--size", "32x32", "--out", str(out)]) == 0
    model = torch.jit.load(str(out), map_location="cpu")  # not run here: float16 on a CPU is slow in torch
    assert {p.dtype for p in model.parameters()} == {torch.float16}
    assert read_metadata(out)["outputs"]["half"] is True


def test_cli_writes_the_overrides_into_the_metadata(tmp_path, capsys):
    out = tmp_path / "sub" / "small.onnx"
    code = main(["export", "--size", "64x96", "--thresh", "0.3", "--nms", "0.4", "--top-k", "50", "--no-vote",
                 "--opset", "13", "--out", str(out)])
    assert code == 0 and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["small.onnx"]  # no partial file left behind
    meta = read_metadata(out)
    assert (meta["postprocess"]["score_threshold"], meta["postprocess"]["nms_threshold"],
            meta["postprocess"]["top_k_per_level"], meta["postprocess"]["vote_threshold"]) == (0.3, 0.4, 50, None)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[1].shape == [1, 150]
    assert "score > 0.3" in capsys.readouterr().out


def _options(*argv):
    parser = argparse.ArgumentParser()
    export_command.add_arguments(parser)
    return export_command.Options.from_args(parser.parse_args(list(argv)))


def test_options_default_output_name_and_format_registry(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _options().out.name == "ssh_lite_wider.onnx" and _options().weights == DEFAULT_WEIGHTS
    assert _options("--format", "torchscript").out.name == "ssh_lite_wider.ts.pt"
    assert _options("--size", "480x640").size == (480, 640) and _options("--dynamic").size is None
    parser = argparse.ArgumentParser()
    export_command.add_arguments(parser)
    choices = next(a.choices for a in parser._actions if a.dest == "format")
    assert tuple(choices) == tuple(EXPORTERS)
    inference = _options("--vote", "0.5", "--thresh", "0.2").inference(InferenceConfig())
    assert inference == replace(InferenceConfig(), vote_threshold=0.5, score_threshold=0.2)


@pytest.mark.parametrize("argv,message", [
    (["--size", "640by480"], "--size must be HEIGHTxWIDTH"),
    (["--size", "0x480"], "--size must be positive"),
    (["--format", "torchscript", "--opset", "13"], "--opset applies to --format onnx only"),
    (["--opset", "7"], "--opset must lie in 11..20"),
])
def test_bad_options_raise_a_user_error_naming_the_option(argv, message):
    with pytest.raises(UserError, match=message):
        _options(*argv)


@pytest.mark.parametrize("argv,message", [
    (["--weights", "{tmp}/missing.pt"], "checkpoint not found"),
    (["--weights", "{tmp}/garbage.pt"], "not a readable sshvideo checkpoint"),
    (["--size", "640x"], "--size must be HEIGHTxWIDTH"),
    (["--format", "tflite"], "invalid choice"),
    (["--thresh", "2"], "must lie in [0, 1]"),
])
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, argv, message):
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint" * 10)
    argv = [a.format(tmp=tmp_path) for a in argv]
    try:
        code = main(["export", *argv, "--out", str(tmp_path / "x.onnx")])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.onnx").exists()


def test_example_script_prints_the_detections(exported, reference, capsys):
    assert example.main([str(exported["dynamic.onnx"]), str(VAL_IMAGE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(reference[VAL_IMAGE]) and float(lines[0].split()[0]) == pytest.approx(
        reference[VAL_IMAGE].scores[0], abs=1e-3)
