import threading

import pytest

from core import Detector
from sshvideo.capture import Capture
from sshvideo.handoff import BoundedQueue, EndOfStream
from sshvideo.worker import DetectWorker

pytestmark = pytest.mark.video


def collect(results):
    out = []
    while True:
        try:
            out.append(results.get(timeout=20))
        except EndOfStream as end:
            return out, end


def test_worker_batches_file_frames_in_order(clip_factory, confident_checkpoint):
    det = Detector.from_checkpoint(confident_checkpoint, device="cpu")
    cap = Capture(str(clip_factory(frames=10))).start()
    results = BoundedQueue(4)
    worker = DetectWorker(det, cap.frames, results, batch_size=4).start()
    out, end = collect(results)
    assert end.reason == "end of stream"
    assert [r.frame.index for r in out] == list(range(10)) and all(r.detected for r in out)
    assert all(len(r.detections) > 0 and r.detections.scores[0] > 0.9 for r in out)
    assert worker.stats.frames == 10 and worker.stats.detector_fps > 0
    worker.stop()
    cap.stop()


def test_every_n_reuses_the_last_boxes(clip_factory, confident_checkpoint):
    det = Detector.from_checkpoint(confident_checkpoint, device="cpu")
    cap = Capture(str(clip_factory(frames=7))).start()
    results = BoundedQueue(4)
    DetectWorker(det, cap.frames, results, every=3).start()
    out, _ = collect(results)
    assert [r.detected for r in out] == [True, False, False, True, False, False, True]
    assert out[1].detections is out[0].detections


def test_detector_failure_ends_the_pipeline_with_the_reason(clip_factory, confident_checkpoint):
    det = Detector.from_checkpoint(confident_checkpoint, device="cpu")
    det.detect = lambda frames: (_ for _ in ()).throw(RuntimeError("out of memory"))
    cap = Capture(str(clip_factory(frames=5))).start()
    results = BoundedQueue(4)
    worker = DetectWorker(det, cap.frames, results).start()
    out, end = collect(results)
    assert out == [] and "detector failed" in end.reason and "out of memory" in end.reason
    worker.stop()
    cap.stop()
    assert not worker.running and not cap.running


def test_stop_leaves_no_thread_running(confident_checkpoint):
    det = Detector.from_checkpoint(confident_checkpoint, device="cpu")
    cap = Capture("lavfi:testsrc2=size=160x120:rate=30").start()
    results = BoundedQueue(2)
    worker = DetectWorker(det, cap.frames, results).start()
    results.get(timeout=10)
    worker.stop()
    cap.stop()
    names = [t.name for t in threading.enumerate()]
    assert "detect-worker" not in names and not any(n.startswith("capture:") for n in names)
