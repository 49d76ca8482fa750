"""annotate with tracking (the default): every format carries track ids and carried boxes, the formats and the
render agree, and the CVAT for video export reads back through training/readers as the same boxes."""
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from sshvideo.cli import main
from sshvideo.exporters import WRITERS, Faces
from training.readers.cvat import read_cvat_video

META = {"source": "v.mp4", "width": 200, "height": 100, "fps": 10.0, "threshold": 0.5, "every": 1,
        "tracker": {"high_thresh": 0.5}}


def faces(rows):
    """rows: (x1, y1, x2, y2, score, id, carried)."""
    a = np.array(rows, np.float64).reshape(-1, 7)
    return Faces(a[:, :4].astype(np.float32), a[:, 4].astype(np.float32), a[:, 5].astype(np.int64), a[:, 6] > 0)


def write(fmt, tmp_path, frames, meta=META):
    writer = WRITERS[fmt](tmp_path / f"v{WRITERS[fmt].suffix}", meta)
    for index, rows in frames:
        writer.add(index, index / 10, faces(rows))
    writer.close()
    return tmp_path / f"v{WRITERS[fmt].suffix}"


# Track 1 on frames 0-3, absent on 4, back on 5; track 2 on frames 1-2 (carried on 2), then gone. No frame 6
# (lost), frame 7 has nothing.
FRAMES = [(0, [(10, 10, 30, 40, 0.9, 1, 0)]),
          (1, [(12, 10, 32, 40, 0.9, 1, 0), (100, 20, 120, 50, 0.8, 2, 0)]),
          (2, [(14, 10, 34, 40, 0.9, 1, 0), (104, 20, 124, 50, 0.8, 2, 1)]),
          (3, [(16, 10, 36, 40, 0.7, 1, 1)]),
          (4, []),
          (5, [(20, 12, 40, 42, 0.95, 1, 0)]),
          (7, [])]


def test_jsonl_csv_and_mot_carry_track_ids_and_carried_marks(tmp_path):
    lines = write("jsonl", tmp_path, FRAMES).read_text().splitlines()
    assert json.loads(lines[0])["tracker"] == {"high_thresh": 0.5}
    records = [json.loads(x) for x in lines[1:]]
    assert records[2]["faces"][1] == {"box": [104.0, 20.0, 124.0, 50.0], "score": 0.8, "track": 2, "carried": True}
    assert records[0]["faces"][0]["carried"] is False
    csv = write("csv", tmp_path, FRAMES).read_text().splitlines()
    assert csv[0] == "frame,time,x1,y1,x2,y2,score,track,carried"
    assert csv[5] == "2,0.200000,104.00,20.00,124.00,50.00,0.80000,2,1" and len(csv) == 1 + 7
    mot = [r.split(",") for r in write("mot", tmp_path, FRAMES).read_text().splitlines()]
    assert [(r[0], r[1]) for r in mot] == [("1", "1"), ("2", "1"), ("2", "2"), ("3", "1"), ("3", "2"), ("4", "1"),
                                           ("6", "1")]
    assert mot[2][2:7] == ["100.00", "20.00", "20.00", "30.00", "0.80000"] and len(mot[0]) == 10


def test_cvat_one_track_per_id_with_outside_on_absences_reads_back_to_the_same_boxes(tmp_path):
    path = write("cvat", tmp_path, FRAMES)
    tracks = ET.parse(path).getroot().findall("track")
    assert len(tracks) == 2
    keys = [[(int(b.get("frame")), b.get("outside")) for b in t.findall("box")] for t in tracks]
    # track 1: absent on the written frame 4, back on 5, ends before the written frame 7 (6 was never written)
    assert keys[0] == [(0, "0"), (1, "0"), (2, "0"), (3, "0"), (4, "1"), (5, "0"), (7, "1")]
    assert keys[1] == [(1, "0"), (2, "0"), (3, "1")]
    assert all(b.get("keyframe") == "1" and b.get("occluded") == "0" and b.find("attribute").get("name") == "score"
               for t in tracks for b in t.findall("box"))
    samples = {s.frame_index: s.boxes for s in read_cvat_video(path, video=tmp_path / "v.mp4", frame_count=8)}
    for index, rows in FRAMES:
        expected = sorted(tuple(r[:4]) for r in rows)
        assert sorted(map(tuple, samples.get(index, np.zeros((0, 4))).tolist())) == expected, index


def test_cvat_track_ending_on_the_last_frame_has_no_outside_beyond_the_video(tmp_path):
    path = write("cvat", tmp_path, [(0, [(1, 1, 9, 9, 0.9, 5, 0)]), (1, [(2, 1, 10, 9, 0.9, 5, 0)])])
    [track] = ET.parse(path).getroot().findall("track")
    assert [b.get("outside") for b in track.findall("box")] == ["0", "0"]
    read_cvat_video(path, video=tmp_path / "v.mp4", frame_count=2)  # nothing reaches beyond the video


def run(args):
    return main(["--quiet", "annotate", *map(str, args)])


def read_jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()[1:]]


@pytest.mark.video
def test_every_format_and_the_render_agree_with_tracking_and_every_n(clip_factory, tmp_path, confident_checkpoint,
                                                                     monkeypatch):
    from sshvideo import annotate

    rendered = []
    original = annotate.render
    monkeypatch.setattr(annotate, "render", lambda image, f, *a: rendered.append(f) or original(image, f, *a))
    clip = clip_factory(frames=12, fps=10)
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--format", "jsonl,csv,mot,cvat",
                "--render", "boxes", "--draw-ids", "--every", "3"]) == 0
    frames = read_jsonl(out / f"{clip.stem}.jsonl")
    assert [len(f["faces"]) for f in frames] == [len(r) for r in rendered]
    for f, r in zip(frames, rendered):
        assert [x["track"] for x in f["faces"]] == r.ids.tolist()
        assert np.allclose([x["box"] for x in f["faces"]], r.boxes, atol=0.006)
        # frames that were not detected are covered by carried boxes only, detected ones by matched boxes
        assert {x["carried"] for x in f["faces"]} == {f["frame"] % 3 != 0}
    csv = [r.split(",") for r in (out / f"{clip.stem}.csv").read_text().splitlines()[1:]]
    assert [(int(r[0]), int(r[7]), r[8] == "1") for r in csv] == \
        [(f["frame"], x["track"], x["carried"]) for f in frames for x in f["faces"]]
    mot = [r.split(",") for r in (out / f"{clip.stem}.mot.txt").read_text().splitlines()]
    assert [(int(r[0]) - 1, int(r[1])) for r in mot] == [(f["frame"], x["track"]) for f in frames for x in f["faces"]]
    ids = {x["track"] for f in frames for x in f["faces"]}
    tracks = ET.parse(out / f"{clip.stem}.cvat.xml").getroot().findall("track")
    assert len(tracks) == len(ids) and min(ids) == 1


@pytest.mark.video
@pytest.mark.slow
def test_a_20_second_cvat_export_is_one_track_per_face_and_reads_back(clip_factory, tmp_path, confident_checkpoint):
    """The crafted model's faces are a fixed grid of boxes on every frame (its identities): tracking must
    keep each as one track for 20 s, and the CVAT export read back must give the JSON Lines' boxes."""
    clip = clip_factory(frames=200, fps=10, size=(160, 120))
    out = tmp_path / "o"
    assert run([clip, "--weights", confident_checkpoint, "--out", out, "--format", "jsonl,cvat"]) == 0
    plain = tmp_path / "plain"
    assert run([clip, "--weights", confident_checkpoint, "--out", plain, "--no-track"]) == 0
    identities = {len(f["faces"]) for f in read_jsonl(plain / f"{clip.stem}.jsonl")}
    assert len(identities) == 1  # the same number of faces in every frame
    frames = read_jsonl(out / f"{clip.stem}.jsonl")
    tracks = ET.parse(out / f"{clip.stem}.cvat.xml").getroot().findall("track")
    assert len(tracks) == identities.pop()
    samples = {s.frame_index: s.boxes for s in read_cvat_video(out / f"{clip.stem}.cvat.xml", video=clip,
                                                                frame_count=200)}
    assert sorted(samples) == [f["frame"] for f in frames] == list(range(200))
    for f in frames:
        expected = np.array(sorted(x["box"] for x in f["faces"]))
        got = np.array(sorted(samples[f["frame"]].tolist()))
        assert np.allclose(got, expected, atol=0.006), f["frame"]


@pytest.mark.parametrize("mode", ["boxes", "blur"])
def test_draw_ids_prints_the_track_id_beside_each_box(mode):
    from sshvideo.render import RenderSettings, render

    frame = np.full((100, 200, 3), 90, np.uint8)
    tracked = faces([(20, 30, 80, 90, 0.9, 7, 0)])
    plain = render(frame, tracked, mode, RenderSettings())
    with_ids = render(frame, tracked, mode, RenderSettings(draw_ids=True))
    changed = np.argwhere((with_ids != plain).any(axis=2))
    assert (changed[:, 0] < 29).sum() > 20  # a label above the box's top edge (y = 30); blur adds the box too
    untracked = Faces(tracked.boxes, tracked.scores)
    assert np.array_equal(render(frame, untracked, mode, RenderSettings(draw_ids=True)), plain)
