"""Live sources that misbehave: an MJPEG camera that freezes, dies and returns; a slow device."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from test_live_support import MJPEGServer, SlowRuntime, encode_video_jpegs, read_jsonl

from edgevision.live.app import LiveRequest, run_live
from edgevision.live.capture import CaptureSettings
from edgevision.live.loop import LiveLoop, LiveOptions
from edgevision.live.recorder import Recorder
from edgevision.live.sources import open_source, parse_source
from edgevision.predict import Classifier
from edgevision.runtime import RuntimeOptions, open_runtime


def test_mjpeg_stream_outage_no_signal_reconnect(foreign_bundle, shared_data, tmp_path):
    server = MJPEGServer(encode_video_jpegs(shared_data / "video" / "cup.mp4"), fps=30)
    server.start()
    request = LiveRequest(
        bundle=foreign_bundle,
        source=server.url,
        output=tmp_path / "out",
        threads=2,
        timeout_s=0.5,
        stale_after_s=0.8,
        duration_s=9.0,
        log_every_s=0,
    )
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(run_live(request)))
    runner.start()

    # Script: 2.5 s live, 2 s frozen picture, 2 s server gone, then back until the end.
    time.sleep(2.5)
    freeze_at = time.time()
    server.freeze()
    time.sleep(2.0)
    stop_at = time.time()
    server.stop()
    time.sleep(2.0)
    server.freeze(False)
    server.start()
    restart_at = time.time()
    runner.join(timeout=30)
    server.stop()

    frames, events = read_jsonl(tmp_path / "out" / "frames.jsonl")
    summary = result
    kinds = [e["event"] for e in events]
    assert "no_signal" in kinds and kinds[-1] == "signal"
    assert summary["frames"]["reopened"] >= 1 and summary["no_signal"]["episodes"] >= 1
    assert summary["frames"]["repeated"] > 10  # the frozen picture was seen and not passed on

    # No prediction for anything captured while frozen (one frame of grace) or while gone.
    captured = np.array([r["capture_time"] for r in frames])
    during_outage = (captured > freeze_at + 0.1) & (captured < restart_at)
    assert not np.any(during_outage), [
        r for r, bad in zip(frames, during_outage, strict=True) if bad
    ][:3]
    # Recognition ran before the outage and resumed after it (counts kept low: 2 loaded cores).
    assert np.sum(captured < freeze_at) > 5 and np.sum(captured > restart_at) > 5
    # Nothing emitted was stale, and NO SIGNAL covered the outage.
    assert max(r["latency_ms"] for r in frames) < 800
    no_signal_at = min(e["time"] for e in events if e["event"] == "no_signal")
    assert freeze_at < no_signal_at < stop_at + 1.0
    assert 2.0 < summary["no_signal"]["total_s"] < 5.5


def test_slow_runtime_frame_age_stays_bounded(foreign_bundle, shared_data, tmp_path):
    # A 30 FPS camera-like source feeding a device that needs 100 ms per frame: the loop must
    # drop frames (counted) instead of building a backlog, so frame age does not grow.
    runtime = SlowRuntime(open_runtime(foreign_bundle, options=RuntimeOptions(threads=2)), 0.1)
    spec = parse_source(str(shared_data / "video" / "cup.mp4"))
    settings = CaptureSettings(pace_fps=30.0, loop=True)
    recorder = Recorder(None, tmp_path / "frames.jsonl", fps=30.0)
    loop = LiveLoop(
        Classifier(runtime),
        open_source(spec),
        lambda: open_source(spec),
        options=LiveOptions(capture=settings, duration_s=24.0, log_every_s=0),
        recorder=recorder,
    )
    summary = loop.run()

    frames, _ = read_jsonl(Path(tmp_path / "frames.jsonl"))
    start = frames[0]["capture_time"]
    early = [r["latency_ms"] for r in frames if r["capture_time"] - start < 8]
    late = [r["latency_ms"] for r in frames if r["capture_time"] - start > 16]
    early_p90, late_p90 = np.percentile(early, 90), np.percentile(late, 90)
    assert late_p90 <= early_p90 * 1.10, (early_p90, late_p90)
    assert late_p90 < 100 + 2 * 1000 / 30 + 60  # infer + at most a frame's wait + CPU work

    counts = summary["frames"]
    assert 4.0 < summary["fps"]["processed_mean"] <= 10.5  # at most one frame per 100 ms
    assert counts["dropped_capture"] > 300  # about two of every three frames
    in_flight = counts["captured"] - counts["processed"] - counts["dropped_capture"]
    assert 0 <= in_flight - counts.get("stale_skipped", 0) <= 2
