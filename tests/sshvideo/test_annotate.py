import json
import xml.etree.ElementTree as ET

import av
import numpy as np
import pytest
from conftest import DATA

from sshvideo.cli import main

pytestmark = pytest.mark.video


def probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [round(f.time, 4) for f in c.decode(v)]
        return {"streams": [s.type for s in c.streams], "codec": v.codec_context.name,
                "size": (v.codec_context.width, v.codec_context.height), "pix_fmt": v.codec_context.pix_fmt,
                "rate": float(v.average_rate) if v.average_rate else None, "times": times,
                "audio": [s.codec_context.name for s in c.streams.audio]}


def run(args):
    return main(["--quiet", "annotate", *map(str, args)])


def test_all_formats_and_boxes_video_with_audio(clip_factory, tmp_path, confident_checkpoint):
    clip = clip_factory(frames=20, fps=10, audio=True)
    out = tmp_path / "out"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--format", "jsonl,csv,mot,cvat",
                "--render", "boxes", "--keep-audio", "--draw-scores", "--no-track"]) == 0  # tracked: test_tracked_outputs
    stem = clip.stem
    lines = (out / f"{stem}.jsonl").read_text().splitlines()
    header, frames = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert header["sshvideo"] == "detections" and (header["width"], header["height"]) == (160, 120)
    assert [f["frame"] for f in frames] == list(range(20)) and frames[3]["time"] == pytest.approx(0.3)
    assert all(f["faces"] and f["faces"][0]["score"] >= 0.5 and "track" not in f["faces"][0] for f in frames)
    csv_rows = (out / f"{stem}.csv").read_text().splitlines()
    assert csv_rows[0] == "frame,time,x1,y1,x2,y2,score" and len(csv_rows) - 1 == sum(len(f["faces"]) for f in frames)
    mot = [r.split(",") for r in (out / f"{stem}.mot.txt").read_text().splitlines()]
    assert mot[0][0] == "1" and mot[0][1] == "-1" and len(mot[0]) == 10
    root = ET.parse(out / f"{stem}.cvat.xml").getroot()
    tracks = root.findall("track")
    assert root.find("version").text == "1.1" and len(tracks) == len(mot)
    assert tracks[0].findall("box")[1].get("outside") == "1"
    src, dst = probe(clip), probe(out / f"{stem}_boxes.mp4")
    assert dst["codec"] == "h264" and dst["pix_fmt"] == "yuv420p" and dst["size"] == src["size"]
    assert dst["times"] == src["times"] and dst["rate"] == pytest.approx(src["rate"])
    assert dst["audio"] == ["aac"]
    assert not list(out.glob(".*partial*"))


@pytest.mark.parametrize("mode", ["blur", "mosaic", "solid"])
def test_anonymising_render_modes(clip_factory, tmp_path, confident_checkpoint, mode):
    clip = clip_factory(frames=6)
    out = tmp_path / mode
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--render", mode, "--format", "csv"]) == 0
    rendered = out / f"{clip.stem}_{mode}.mp4"
    assert probe(rendered)["times"] == probe(clip)["times"]
    with av.open(str(rendered)) as c, av.open(str(clip)) as o:
        a = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        b = next(o.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(a - b).mean() > 3  # faces (here: the crafted grid of boxes) were hidden


def test_keep_audio_when_audio_is_stream_0_and_when_there_is_none(clip_factory, tmp_path, confident_checkpoint):
    first = clip_factory(frames=10, audio=True, audio_first=True)
    silent = clip_factory(frames=10)
    out = tmp_path / "o"
    assert run([first, silent, "--weights", confident_checkpoint, "--out", out, "--render", "boxes",
                "--keep-audio"]) == 0
    assert probe(out / f"{first.stem}_boxes.mp4")["audio"] == ["aac"]
    assert probe(out / f"{silent.stem}_boxes.mp4")["streams"] == ["video"]


def test_every_start_end_and_vfr(clip_factory, tmp_path, confident_checkpoint):
    clip = clip_factory(frames=30, fps=10)
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--every", "3", "--start", "1", "--end", "2",
                "--render", "boxes"]) == 0
    frames = [json.loads(x) for x in (out / f"{clip.stem}.jsonl").read_text().splitlines()[1:]]
    assert [f["frame"] for f in frames] == list(range(10, 21))
    times = probe(out / f"{clip.stem}_boxes.mp4")["times"]
    assert len(times) == 11 and times[0] == 0.0 and times[-1] == pytest.approx(1.0)
    pts = [0, 40, 120, 130, 300, 310, 500, 900]
    vfr = clip_factory(frames=len(pts), pts=pts)
    assert run([vfr, "--weights", confident_checkpoint, "--out", out, "--render", "solid"]) == 0
    assert probe(out / f"{vfr.stem}_solid.mp4")["times"] == [p / 1000 for p in pts]


def test_rotated_input(clip_factory, tmp_path, confident_checkpoint):
    clip = clip_factory(frames=4, size=(160, 96), rotation=90)
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--render", "boxes"]) == 0
    header = json.loads((out / f"{clip.stem}.jsonl").read_text().splitlines()[0])
    assert (header["width"], header["height"]) == (96, 160)  # detections are in upright coordinates
    assert probe(out / f"{clip.stem}_boxes.mp4")["size"] == (96, 160)


def test_odd_frame_size_is_padded_to_even_for_yuv420p(clip_factory, tmp_path, confident_checkpoint):
    clip = clip_factory(frames=3, size=(161, 121), codec="libx264rgb")
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--render", "boxes"]) == 0
    assert probe(out / f"{clip.stem}_boxes.mp4")["size"] == (162, 122)


def test_bad_inputs_are_reported_and_the_batch_goes_on(clip_factory, tmp_path, confident_checkpoint, capsys):
    good = clip_factory(frames=6)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "text.mp4").write_text("not a video")
    data = clip_factory(frames=30, size=(320, 240)).read_bytes()
    (folder / "truncated.mp4").write_bytes(data[:2000])
    (folder / "good.mp4").write_bytes(good.read_bytes())
    out = tmp_path / "o"
    code = run([folder, tmp_path / "missing.mp4", "--weights", confident_checkpoint, "--out", out,
                "--render", "boxes"])
    captured = capsys.readouterr()
    assert code == 1
    assert "text.mp4" in captured.err and "missing.mp4" in captured.err and "truncated.mp4" in captured.err
    assert (out / "good.jsonl").exists() and (out / "good_boxes.mp4").exists()
    assert not (out / "text.jsonl").exists() and not (out / "truncated_boxes.mp4").exists()
    assert not [p for p in out.rglob("*") if "partial" in p.name]
    assert "good.mp4" in captured.out and "failed" in captured.out


def test_skip_existing_and_interrupted_runs_leave_no_final_files(clip_factory, tmp_path, confident_checkpoint,
                                                                 monkeypatch, capsys):
    clip = clip_factory(frames=8)
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out]) == 0
    first = (out / f"{clip.stem}.jsonl").stat().st_mtime_ns
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--skip-existing"]) == 0
    assert (out / f"{clip.stem}.jsonl").stat().st_mtime_ns == first
    assert "skipped" in capsys.readouterr().out

    from sshvideo import exporters

    def boom(self, index, time, dets):
        if index == 4:
            raise KeyboardInterrupt
        return original(self, index, time, dets)

    original = exporters.CsvWriter.add
    monkeypatch.setattr(exporters.CsvWriter, "add", boom)
    other = tmp_path / "o2"
    assert run([clip, "--weights", confident_checkpoint, "--out", other, "--format", "jsonl,csv",
                "--render", "boxes"]) == 130
    assert not other.exists() or not [p for p in other.rglob("*") if p.is_file()]


def test_real_clip(tmp_path, confident_checkpoint):
    clip = DATA / "closeup_988.mp4"
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--render", "blur", "--format", "mot"]) == 0
    src, dst = probe(clip), probe(out / "closeup_988_blur.mp4")
    assert dst["times"] == src["times"] and dst["size"] == (988, 988) and len(dst["times"]) == 42


def test_usage_errors(tmp_path, confident_checkpoint, capsys):
    assert run([tmp_path, "--weights", confident_checkpoint, "--format", "xml"]) == 2
    assert "unknown format xml" in capsys.readouterr().err
    assert run([tmp_path, "--weights", tmp_path / "nope.pt"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_torchrun_ranks_take_their_share_of_the_inputs(clip_factory, tmp_path, confident_checkpoint, monkeypatch):
    clips = [clip_factory(frames=3) for _ in range(3)]
    out = tmp_path / "o"
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert run([*clips, "--weights", confident_checkpoint, "--out", out, "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.glob("*.jsonl")) == [f"{clips[1].stem}.jsonl"]


def test_skip_existing_notices_a_change_of_tracking(clip_factory, tmp_path, confident_checkpoint, capsys, caplog):
    clip = clip_factory(frames=6)
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out]) == 0
    manifest = json.loads((out / f"{clip.stem}.sshvideo.json").read_text())["settings"]
    assert manifest["track"] is True and manifest["tracker"]["keep_seconds"] == 0.5
    for changed in (["--no-track"], ["--track-keep", "1"]):
        capsys.readouterr()
        assert run([clip, "--weights", confident_checkpoint, "--out", out, "--skip-existing", *changed]) == 0
        assert "skipped" not in capsys.readouterr().out
    assert "tracker" in caplog.text


def test_tracking_usage_errors(tmp_path, confident_checkpoint, capsys):
    assert run([tmp_path, "--weights", confident_checkpoint, "--no-track", "--draw-ids"]) == 2
    assert "--draw-ids needs tracking" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        run([tmp_path, "--weights", confident_checkpoint, "--track-low", "2"])
    assert exit_.value.code == 2 and "--track-low" in capsys.readouterr().err
