"""10,000-frame soak: resident memory of the live loop must not grow (goal ≤ 5 %).

cup.mp4 is looped as fast as possible with recording and JSON lines on (the paths a long run
exercises), while a sampler thread reads this process's RSS with psutil. Growth is measured from
the sample after ``--warmup`` frames (allocators and ONNX Runtime arenas settled) to the end.

Run: ``python benchmarks/live_soak.py [--bundle B] [--frames 10000]``; writes
``benchmarks/results/live_soak.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
from live_common import CUP, conditions, default_bundle, write_result

from edgevision.live.app import LiveRequest, run_live
from edgevision.runtime import RuntimeOptions, open_runtime


class RSSSampler(threading.Thread):
    def __init__(self, period_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.period_s = period_s
        self.samples: list[tuple[float, int]] = []  # bounded by run length / period
        self.done = threading.Event()
        self.process = psutil.Process()

    def run(self) -> None:
        start = time.monotonic()
        while not self.done.is_set():
            self.samples.append((time.monotonic() - start, self.process.memory_info().rss))
            self.done.wait(self.period_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args()
    bundle = args.bundle or default_bundle()
    runtime_info = open_runtime(bundle, options=RuntimeOptions(threads=args.threads)).describe()
    result = {"conditions": conditions(bundle, runtime_info, args.threads)}

    sampler = RSSSampler()
    with tempfile.TemporaryDirectory() as tmp:
        request = LiveRequest(
            bundle=bundle,
            source=str(CUP),
            pace="fast",
            loop=True,
            max_frames=args.frames,
            threads=args.threads,
            output=Path(tmp) / "out",
            log_every_s=0,
        )
        sampler.start()
        summary = run_live(request)
        sampler.done.set()
        sampler.join()

    rate = summary["frames"]["processed"] / summary["duration_s"]
    warm_s = args.warmup / rate
    after_warmup = [rss for t, rss in sampler.samples if t >= warm_s]
    base, end, peak = after_warmup[0], after_warmup[-1], max(after_warmup)
    result["results"] = {
        "frames_processed": summary["frames"]["processed"],
        "duration_s": summary["duration_s"],
        "rss_mib": {
            "after_warmup": round(base / 2**20, 1),
            "end": round(end / 2**20, 1),
            "peak": round(peak / 2**20, 1),
        },
        "rss_growth_pct": round((end - base) / base * 100.0, 2),
        "peak_growth_pct": round((peak - base) / base * 100.0, 2),
        "goal_growth_pct": 5.0,
        "meets_goal": (end - base) / base <= 0.05,
        "frame_age_ms": summary["frame_age_ms"]["result"],
    }
    write_result("live_soak", result)


if __name__ == "__main__":
    main()
