"""Honest numbers about the live loop: frame age, per-stage times, FPS, drops, NO SIGNAL time.

Everything is kept in bounded structures so hours of running cost the same memory as a minute:
recent values in fixed-length windows (for the periodic log line and the overlay) and a fixed-size
random reservoir per metric for whole-run percentiles.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

STAGES = ("capture", "preprocess", "infer", "postprocess", "render")
AGES = ("result", "display")


class Reservoir:
    """A uniform random sample of at most ``size`` values from an unbounded stream."""

    def __init__(self, size: int = 4096, *, seed: int = 0) -> None:
        self.size = size
        self.count = 0
        self.values: list[float] = []
        self._random = random.Random(seed)

    def add(self, value: float) -> None:
        self.count += 1
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self._random.randrange(self.count)
        if slot < self.size:
            self.values[slot] = value

    def summary(self) -> dict[str, float]:
        """p50/p90/p99/mean/max in the values' unit (ms here); empty when nothing was added."""
        return percentiles(self.values)


def percentiles(values: Any) -> dict[str, float]:
    data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        return {}
    p50, p90, p99 = np.percentile(data, [50, 90, 99])
    return {
        "p50": round(float(p50), 3),
        "p90": round(float(p90), 3),
        "p99": round(float(p99), 3),
        "mean": round(float(data.mean()), 3),
        "max": round(float(data.max()), 3),
    }


def rate(stamps: collections.deque) -> float | None:
    """Events per second over a window of monotonic timestamps."""
    if len(stamps) < 2 or stamps[-1] <= stamps[0]:
        return None
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


class Telemetry:
    """Thread-safe counters and timings shared by the capture, inference and present threads.

    Args:
        window: How many recent values feed the log line and the overlay's FPS/latency.
        reservoir: Sample size per metric for the summary percentiles.
    """

    def __init__(self, *, window: int = 120, reservoir: int = 4096) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.recent = {name: collections.deque(maxlen=window) for name in STAGES + AGES}
        self.whole = {name: Reservoir(reservoir, seed=i) for i, name in enumerate(STAGES + AGES)}
        self.capture_stamps: collections.deque = collections.deque(maxlen=window)
        self.result_stamps: collections.deque = collections.deque(maxlen=window)
        self.counts = collections.Counter()
        self.declared_fps: float | None = None
        self.no_signal_since: float | None = None
        self.no_signal_total_s = 0.0

    def add(self, name: str, value_ms: float) -> None:
        """Record one stage time or frame age in milliseconds."""
        with self._lock:
            self.recent[name].append(value_ms)
            self.whole[name].add(value_ms)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def captured(self, stamp: float, read_ms: float) -> None:
        with self._lock:
            self.capture_stamps.append(stamp)
            self.counts["captured"] += 1
        self.add("capture", read_ms)

    def processed(self, stamp: float) -> None:
        with self._lock:
            self.result_stamps.append(stamp)
            self.counts["processed"] += 1

    def set_no_signal(self, active: bool, now: float) -> None:
        """Open or close a NO SIGNAL episode (idempotent)."""
        with self._lock:
            if active and self.no_signal_since is None:
                self.no_signal_since = now
                self.counts["no_signal_episodes"] += 1
            elif not active and self.no_signal_since is not None:
                self.no_signal_total_s += now - self.no_signal_since
                self.no_signal_since = None

    def live_view(self) -> dict[str, Any]:
        """The few numbers the overlay and the web view show, from the recent window."""
        with self._lock:
            ages = list(self.recent["result"])
            return {
                "processed_fps": rate(self.result_stamps),
                "source_fps": rate(self.capture_stamps),
                "age_ms_p50": float(np.median(ages)) if ages else None,
                "counts": dict(self.counts),
                "no_signal": self.no_signal_since is not None,
            }

    def log_line(self) -> str:
        """One line for the periodic log: FPS, frame age and drops over the recent window."""
        view = self.live_view()
        with self._lock:
            age = percentiles(self.recent["result"])
            infer = percentiles(self.recent["infer"])
        counts = view["counts"]
        return (
            f"processed {_fmt(view['processed_fps'])} FPS (source {_fmt(view['source_fps'])}), "
            f"frame age p50 {age.get('p50', 0):.0f} ms p90 {age.get('p90', 0):.0f} ms, "
            f"infer p50 {infer.get('p50', 0):.1f} ms, frames {counts.get('processed', 0)}, "
            f"dropped {counts.get('dropped_capture', 0)}+{counts.get('dropped_display', 0)}"
            + (" NO SIGNAL" if view["no_signal"] else "")
        )

    def summary(self) -> dict[str, Any]:
        """Whole-run results, JSON-ready."""
        now = time.monotonic()
        with self._lock:
            no_signal_s = self.no_signal_total_s
            if self.no_signal_since is not None:
                no_signal_s += now - self.no_signal_since
            duration = now - self.started
            counts = dict(self.counts)
            return {
                "duration_s": round(duration, 3),
                "frames": counts,
                "fps": {
                    "source_declared": self.declared_fps,
                    "source_measured": _round(rate(self.capture_stamps)),
                    "processed_recent": _round(rate(self.result_stamps)),
                    "processed_mean": round(counts.get("processed", 0) / duration, 3)
                    if duration > 0
                    else None,
                },
                "frame_age_ms": {name: self.whole[name].summary() for name in AGES},
                "stages_ms": {name: self.whole[name].summary() for name in STAGES},
                "no_signal": {
                    "episodes": counts.get("no_signal_episodes", 0),
                    "total_s": round(no_signal_s, 3),
                },
            }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
