"""Live loop on real files: lossless mode equals offline results, end of file, bad input."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from sample_data import decode_all
from test_live_support import offline_classifier, read_jsonl

from edgevision.cli.main import main
from edgevision.errors import SourceError
from edgevision.images import load_image
from edgevision.live import overlay
from edgevision.live.app import LiveRequest, run_live
from edgevision.live.latest import LatestSlot, SlotClosed
from edgevision.live.sources import open_source, parse_source, sane_fps
from edgevision.live.telemetry import Reservoir
from edgevision.predict import Classifier, Prediction, top_k
from edgevision.runtime import RuntimeOptions, open_runtime


def run_fast(bundle: Path, source: Path | str, output: Path, **extra) -> dict:
    request = LiveRequest(
        bundle=bundle, source=str(source), pace="fast", output=output, threads=2, **extra
    )
    return run_live(request)


def assert_matches_offline(bundle: Path, video: Path, output: Path) -> None:
    summary = run_fast(bundle, video, output)
    frames, _ = read_jsonl(output / "frames.jsonl")
    decoded = decode_all(video)
    classifier = offline_classifier(bundle)

    # Every decodable frame is in the JSON lines, in order, and each answer is the offline one.
    assert [r["frame"] for r in frames] == list(range(len(decoded)))
    for record, image in zip(frames, decoded, strict=True):
        offline = classifier.predict(image)
        assert record["indices"] == list(offline.indices), f"frame {record['frame']}"
        np.testing.assert_allclose(record["scores"], offline.scores, atol=1e-6)
        assert record["latency_ms"] > 0 and record["capture_time"] > 0
        assert set(record["stages_ms"]) == {"preprocess", "infer", "postprocess", "render"}
    assert summary["frames"]["processed"] == len(decoded)
    assert summary["frames"].get("dropped_capture", 0) == 0


def test_fast_mode_equals_offline_foreign_bundle(foreign_bundle, shared_data, tmp_path):
    assert_matches_offline(foreign_bundle, shared_data / "video" / "cup.mp4", tmp_path / "out")


@pytest.mark.torch
def test_fast_mode_equals_offline_imagenet_bundle(imagenet_bundle, shared_data, tmp_path):
    # Issue 2 acceptance: the unchanged ImageNet MobileNet V2 bundle on cup.mp4 (217 frames).
    video = shared_data / "video" / "cup.mp4"
    assert len(decode_all(video)) == 217
    assert_matches_offline(imagenet_bundle, video, tmp_path / "out")


def test_tree_avi_ends_cleanly_after_68(foreign_bundle, shared_data, tmp_path):
    video = shared_data / "video" / "tree.avi"
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT) == 444  # the header's lie
    summary = run_fast(foreign_bundle, video, tmp_path / "out")
    frames, _ = read_jsonl(tmp_path / "out" / "frames.jsonl")

    assert summary["ended"] == "end of source"
    assert [r["frame"] for r in frames] == list(range(68))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["frames"]["processed"] == 68
    recorded = decode_all(tmp_path / "out" / "annotated.mp4")  # finalised, playable container
    assert len(recorded) == 68 and recorded[0].shape == (240, 320, 3)


def test_native_pace_plays_at_declared_rate(foreign_bundle, shared_data, tmp_path):
    request = LiveRequest(
        bundle=foreign_bundle,
        source=str(shared_data / "video" / "tree.avi"),
        output=tmp_path / "out",
        threads=2,
        max_frames=30,
    )
    summary = run_live(request)
    assert summary["fps"]["source_declared"] == pytest.approx(15.0, abs=0.01)
    assert summary["fps"]["source_measured"] == pytest.approx(15.0, rel=0.1)
    assert summary["frames"]["captured"] == 30


def test_grayscale_and_16bit_frames_are_converted(foreign_bundle, shared_data, tmp_path):
    photo = load_image(
        shared_data
        / "imagenet_samples"
        / sorted(
            p.name for p in (shared_data / "imagenet_samples").iterdir() if p.suffix == ".jpg"
        )[0]
    )
    grey8 = cv2.cvtColor(cv2.resize(photo, (320, 240)), cv2.COLOR_BGR2GRAY)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_grey8.png"), grey8)
    cv2.imwrite(str(folder / "b_grey16.png"), grey8.astype(np.uint16) * 257)
    assert cv2.imread(str(folder / "b_grey16.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16

    run_fast(foreign_bundle, folder, tmp_path / "out")
    frames, _ = read_jsonl(tmp_path / "out" / "frames.jsonl")
    expected = offline_classifier(foreign_bundle).predict(cv2.cvtColor(grey8, cv2.COLOR_GRAY2BGR))
    assert len(frames) == 2
    for record in frames:  # 16-bit scaled by 1/257 gives back the 8-bit picture exactly
        assert record["indices"] == list(expected.indices)


def test_parse_source_recognises_each_form(shared_data, tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    forms = {
        "0": "camera",
        "/dev/video2": "camera",
        "rtsp://127.0.0.1:8554/cam": "url",
        "http://127.0.0.1:8080/stream.mjpg": "url",
        "nvarguscamerasrc ! video/x-raw ! appsink": "gstreamer",
        str(shared_data / "video" / "cup.mp4"): "file",
        str(tmp_path): "folder",
        str(tmp_path / "*.png"): "glob",
    }
    for text, kind in forms.items():
        assert parse_source(text).kind == kind, text
    with pytest.raises(SourceError, match="not a camera index"):
        parse_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(SourceError, match="without GStreamer"):
        open_source(parse_source("videotestsrc ! videoconvert ! appsink"))


def test_sane_fps_ignores_zero_and_absurd_values():
    assert sane_fps(0.0) is None and sane_fps(90000.0) is None and sane_fps(float("nan")) is None
    assert sane_fps(26.78) == 26.78


def test_latest_slot_keeps_newest_and_counts_drops():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False and slot.put(2) is True and slot.put(3) is True
    assert slot.get(timeout_s=0) == 3 and slot.dropped == 2
    assert slot.get(timeout_s=0.01) is None
    slot.put(4)
    assert slot.put_wait(5, timeout_s=0.05) is False  # lossless: waits for the consumer
    threading.Timer(0.05, slot.get).start()
    assert slot.put_wait(5, timeout_s=2.0) is True and slot.get(timeout_s=0) == 5
    slot.put(6)
    slot.close()
    assert slot.get() == 6 and slot.get() is None
    with pytest.raises(SlotClosed):
        slot.put_wait(7)


def test_reservoir_stays_bounded():
    reservoir = Reservoir(100)
    for value in range(100_000):
        reservoir.add(float(value))
    assert len(reservoir.values) == 100 and reservoir.count == 100_000
    assert 30_000 < reservoir.summary()["p50"] < 70_000  # a uniform sample of the whole run


def _refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/stream.mjpg"  # closed again: connections are refused


@pytest.mark.parametrize("case", ["camera", "refused", "timeout", "empty", "missing", "exists"])
def test_bad_input_gets_one_line_and_exit_2(case, foreign_bundle, tmp_path, capsys):
    silent = socket.socket()  # accepts connections but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    existing = tmp_path / "earlier"
    existing.mkdir()
    (existing / "frames.jsonl").write_text("keep me\n")
    sources = {
        "camera": ("7", "camera 7 cannot be opened"),
        "refused": (_refused_url(), "cannot be reached"),
        "timeout": (f"http://127.0.0.1:{silent.getsockname()[1]}/", "cannot be reached"),
        "empty": (str(empty), "holds no images"),
        "missing": (str(tmp_path / "nope.mp4"), "not a camera index"),
        "exists": (str(empty), "exists from an earlier run"),
    }
    source, message = sources[case]
    argv = ["live", "--bundle", str(foreign_bundle), "--source", source, "--timeout", "0.5"]
    argv += ["--display", "none", "--output", str(existing if case == "exists" else tmp_path / "o")]
    try:
        code = main(argv)
    finally:
        silent.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert (existing / "frames.jsonl").read_text() == "keep me\n"


@pytest.mark.openvino
def test_async_backend_pipelines_and_equals_offline(foreign_bundle, shared_data, tmp_path):
    # OpenVINO has a native async queue: the loop overlaps the next frame's preprocessing with
    # the running request, and must still give each frame its own answer, in order.
    from edgevision.live.loop import has_native_async

    video = shared_data / "video" / "tree.avi"
    run_fast(foreign_bundle, video, tmp_path / "out", backend="openvino")
    frames, _ = read_jsonl(tmp_path / "out" / "frames.jsonl")
    runtime = open_runtime(foreign_bundle, backend="openvino", options=RuntimeOptions(threads=2))
    assert has_native_async(runtime)
    classifier = Classifier(runtime)
    decoded = decode_all(video)
    assert [r["frame"] for r in frames] == list(range(68))
    for record, image in zip(frames, decoded, strict=True):
        assert record["indices"] == list(classifier.predict(image).indices)


def test_smoothing_and_unknown_threshold_in_the_loop(foreign_bundle, shared_data, tmp_path):
    video = shared_data / "video" / "tree.avi"
    run_fast(foreign_bundle, video, tmp_path / "out", smooth=0.25, max_frames=5)
    frames, _ = read_jsonl(tmp_path / "out" / "frames.jsonl")
    classifier = offline_classifier(foreign_bundle)
    smoothed = None
    for record, image in zip(frames, decode_all(video)[:5], strict=True):
        probabilities = classifier.probabilities(classifier.prepare(image))[0]
        smoothed = probabilities if smoothed is None else 0.25 * probabilities + 0.75 * smoothed
        expected = top_k(smoothed, classifier.labels, 5)
        assert record["indices"] == list(expected.indices)
        np.testing.assert_allclose(record["scores"], expected.scores, atol=1e-5)

    weak = Prediction(indices=(3, 1), labels=("tench", "goldfish"), scores=(0.3, 0.2))
    assert overlay.headline(weak, 0.5) == "unknown" and overlay.headline(weak, 0.25) == "tench"
