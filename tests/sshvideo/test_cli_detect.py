import json
import subprocess
import sys

import cv2
import pytest
from conftest import DATA

from sshvideo.cli import main
from training.wider_eval import read_prediction_file

VAL = DATA / "val_images"


def test_version_needs_no_heavy_imports():
    code = "import sys; from sshvideo.cli import main; main(['--version'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.startswith("sshvideo ")


def test_detect_writes_wider_files_jsonl_and_drawings(tmp_path, confident_checkpoint, capsys):
    out = tmp_path / "out"
    code = main(["--quiet", "detect", str(VAL), "--weights", str(confident_checkpoint), "--out", str(out), "--draw",
                 "--thresh", "0.5"])
    assert code == 0
    pred = out / "13--Interview" / "13_Interview_Interview_Sequences_13_108.txt"
    rows = read_prediction_file(pred)
    assert pred.read_text().splitlines()[0] == "13_Interview_Interview_Sequences_13_108"
    assert len(rows) > 0 and (rows[:, 4] >= 0.5).all() and (rows[:-1, 4] >= rows[1:, 4]).all()
    record = json.loads((out / "detections.jsonl").read_text().splitlines()[0])
    assert record["width"] > 0 and len(record["faces"]) == len(rows)
    drawn = cv2.imread(str(out / "annotated" / "13--Interview" / "13_Interview_Interview_Sequences_13_108.jpg"))
    assert drawn is not None and drawn.shape[:2] == (record["height"], record["width"])
    assert "1 images" in capsys.readouterr().out


def test_detect_skips_unreadable_images_and_fails_the_exit_code(tmp_path, confident_checkpoint, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "good.jpg").write_bytes(next(VAL.rglob("*.jpg")).read_bytes())
    code = main(["--quiet", "detect", str(folder), str(tmp_path / "nope.png"), "--weights",
                 str(confident_checkpoint), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "broken.jpg" in err and "nope.png" in err
    assert (tmp_path / "out" / "good.txt").exists() and not (tmp_path / "out" / "broken.txt").exists()


def test_detect_pyramid_and_size_options(tmp_path, confident_checkpoint):
    out = tmp_path / "o"
    assert main(["--quiet", "detect", str(VAL), "--weights", str(confident_checkpoint), "--out", str(out),
                 "--size", "300:400"]) == 0
    with pytest.raises(SystemExit) as exit_info:  # refused by the parser, before any model loads
        main(["--quiet", "detect", str(VAL), "--weights", str(confident_checkpoint), "--out", str(out),
              "--size", "big"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("content,message", [
    (b"garbage" * 20, "not a readable sshvideo checkpoint"),
    (None, "checkpoint not found"),
])
def test_bad_checkpoints_are_messages(tmp_path, capsys, content, message):
    ckpt = tmp_path / "model.pt"
    if content is not None:
        ckpt.write_bytes(content)
    assert main(["detect", str(VAL), "--weights", str(ckpt), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "model.pt" in err and "Traceback" not in err


def test_both_backends_give_the_same_faces_and_an_unknown_one_is_refused(tmp_path, confident_checkpoint, capsys):
    rows = {}
    for backend in ("torch", "onnxruntime"):
        out = tmp_path / backend
        assert main(["--quiet", "detect", str(VAL), "--weights", str(confident_checkpoint), "--out", str(out),
                     "--backend", backend]) == 0
        assert f"on cpu ({backend})" in capsys.readouterr().out
        rows[backend] = read_prediction_file(out / "13--Interview" / "13_Interview_Interview_Sequences_13_108.txt")
    assert len(rows["torch"]) > 0 and rows["torch"].shape == rows["onnxruntime"].shape
    assert abs(rows["torch"] - rows["onnxruntime"]).max() < 0.05  # float rounding, in pixels and score
    with pytest.raises(SystemExit) as exit_info:
        main(["detect", str(VAL), "--backend", "tensorrt"])
    assert exit_info.value.code == 2 and "invalid choice: 'tensorrt'" in capsys.readouterr().err


def test_devices_names_the_cpu_backend(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "compute devices:" in out and "threads, onnxruntime)" in out and "cameras" in out


# Issue 20 item 2: one empty or undecodable image is reported by name and the others still processed
def test_a_zero_byte_image_is_named_and_the_rest_still_detected(tmp_path, confident_checkpoint, capsys):
    from core.inference import Detector
    from sshvideo.detect_images import detect_images
    from sshvideo.inputs import IMAGE_SUFFIXES, InputFile, expand_inputs

    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a_empty.jpg").write_bytes(b"")  # sorted first: the images after it must still be processed
    (folder / "b_text.png").write_text("not an image")
    (folder / "c_dir.jpg").mkdir()
    good = next(VAL.rglob("*.jpg")).read_bytes()
    (folder / "d_good.jpg").write_bytes(good)
    (folder / "e_good.jpg").write_bytes(good)
    inputs, _ = expand_inputs([str(folder)], IMAGE_SUFFIXES)
    inputs.insert(2, InputFile(folder / "c_dir.jpg", folder.relative_to(folder) / "c_dir.jpg"))  # a folder named .jpg
    messages = []
    detector = Detector.from_checkpoint(confident_checkpoint, device="cpu", backend="torch")
    summary = detect_images(detector, inputs, tmp_path / "out", threshold=0.5, progress=False,
                            report=messages.append)
    assert summary.images == 2 and summary.failed == 3
    assert any("a_empty.jpg: empty file" in m for m in messages)
    assert any("b_text.png: not a readable image" in m for m in messages)
    assert any("c_dir.jpg: is a folder" in m for m in messages)
    lines = (tmp_path / "out" / "detections.jsonl").read_text().splitlines()
    assert [json.loads(line)["image"].rsplit("/", 1)[-1] for line in lines] == ["d_good.jpg", "e_good.jpg"]
    # and through the command line: exit code 1, the file named, no traceback
    code = main(["--quiet", "detect", str(folder), "--weights", str(confident_checkpoint),
                 "--out", str(tmp_path / "out2")])
    err = capsys.readouterr().err
    assert code == 1 and "a_empty.jpg" in err and "Traceback" not in err
    assert (tmp_path / "out2" / "detections.jsonl").exists() and (tmp_path / "out2" / "e_good.txt").exists()
