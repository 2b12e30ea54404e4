"""Camera-paced live loop: frame age against inference time, and a slow device over minutes.

1. cup.mp4 played like a 30 FPS camera (looping) for ``--seconds``: frame age at result p50/p90
   against the goal p90 ≤ inference p90 + one frame interval (33.3 ms).
2. The same source into a runtime slowed to 100 ms per frame for ``--slow-seconds`` (default two
   minutes): the last minute's frame-age p90 must be within 10 % of the first minute's, and the
   frames that could not be processed are counted as drops.

Run: ``python benchmarks/live_paced.py [--bundle B]``; writes
``benchmarks/results/live_paced.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from live_common import CUP, conditions, default_bundle, write_result

from edgevision.live.capture import CaptureSettings
from edgevision.live.loop import LiveLoop, LiveOptions
from edgevision.live.recorder import Recorder
from edgevision.live.sources import open_source, parse_source
from edgevision.predict import Classifier
from edgevision.runtime import RuntimeOptions, open_runtime
from edgevision.runtime.base import Runtime

FPS = 30.0


class SlowedRuntime(Runtime):
    """Wraps a real runtime so each inference takes at least ``delay_s`` (a slower device)."""

    backend = "slowed"

    def __init__(self, inner: Runtime, delay_s: float) -> None:
        super().__init__(inner.bundle, inner.variant, inner.options)
        self.inner, self.delay_s = inner, delay_s

    def infer(self, batch):
        start = time.monotonic()
        out = self.inner.infer(batch)
        time.sleep(max(0.0, self.delay_s - (time.monotonic() - start)))
        return out


def paced_run(runtime: Runtime, seconds: float) -> tuple[dict, list[dict]]:
    """Run the loop on cup.mp4 paced at 30 FPS; returns (summary, frame records)."""
    spec = parse_source(str(CUP))
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "frames.jsonl"
        loop = LiveLoop(
            Classifier(runtime),
            open_source(spec),
            lambda: open_source(spec),
            options=LiveOptions(
                capture=CaptureSettings(pace_fps=FPS, loop=True), duration_s=seconds, log_every_s=0
            ),
            recorder=Recorder(None, jsonl, fps=FPS),
        )
        summary = loop.run()
        records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    return summary, [r for r in records if r["type"] == "frame"]


def window_p90(records: list[dict], start_s: float, end_s: float) -> float:
    first = records[0]["capture_time"]
    ages = [r["latency_ms"] for r in records if start_s <= r["capture_time"] - first < end_s]
    return round(float(np.percentile(ages, 90)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slow-seconds", type=float, default=120.0)
    args = parser.parse_args()
    bundle = args.bundle or default_bundle()
    runtime = open_runtime(bundle, options=RuntimeOptions(threads=args.threads))
    result = {"conditions": conditions(bundle, runtime.describe(), args.threads)}

    summary, _ = paced_run(runtime, args.seconds)
    age, infer = summary["frame_age_ms"]["result"], summary["stages_ms"]["infer"]
    goal = infer["p90"] + 1000.0 / FPS
    camera = {
        "source": f"{CUP.name} paced at {FPS:g} FPS, looping, {args.seconds:g} s",
        "frame_age_ms": age,
        "infer_ms": infer,
        "goal_age_p90_ms": round(goal, 3),
        "meets_goal": age["p90"] <= goal,
        "frames": summary["frames"],
        "fps": summary["fps"],
    }

    slow_summary, records = paced_run(SlowedRuntime(runtime, 0.1), args.slow_seconds)
    half = args.slow_seconds / 2
    first, last = window_p90(records, 0, half), window_p90(records, half, args.slow_seconds)
    slow = {
        "source": f"same, into a runtime slowed to 100 ms/frame, {args.slow_seconds:g} s",
        "first_half_age_p90_ms": first,
        "last_half_age_p90_ms": last,
        "last_over_first": round(last / first, 3),
        "meets_goal": last <= first * 1.10,
        "frames": slow_summary["frames"],
        "fps": slow_summary["fps"],
    }
    result["results"] = {"camera_paced": camera, "slow_device": slow}
    write_result("live_paced", result)


if __name__ == "__main__":
    main()
