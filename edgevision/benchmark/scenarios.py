"""The three measurement scenarios, modelled on MLPerf Inference's edge rules.

* single-stream: batch 1, the next query as soon as the previous one returns; per-query latency.
* throughput: several requests kept in flight through ``Runtime.submit/collect`` (or batches);
  images per second over the whole window.
* camera-paced: frames arrive at a fixed rate like a camera's; a frame that arrives while the
  previous one is still running waits, and only the newest waiting frame is kept (as the live
  loop's single-slot buffer does), so skipped frames count as misses. A frame misses its
  deadline when it is skipped or its arrival→result latency exceeds the deadline (by default
  one frame interval).

Each function measures one slice and returns :class:`Samples`; interleaving merges slices.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from edgevision.benchmark.stats import summarize_latencies
from edgevision.benchmark.timing import Budget, RunPolicy, clock, sleep_until
from edgevision.errors import ConfigError

SINGLE_STREAM = "single-stream"
THROUGHPUT = "throughput"
PACED = "paced"
SCENARIOS = (SINGLE_STREAM, THROUGHPUT, PACED)


class Workload(Protocol):
    timed_region: str
    batch_size: int

    def step(self) -> None: ...
    def submit(self) -> Any: ...
    def finish(self, handle: Any) -> None: ...


@dataclass
class Samples:
    """Raw measurements of one scenario; slices from several rounds add up with ``merge``."""

    latencies_ms: list[float] = field(default_factory=list)
    images: int = 0
    elapsed_s: float = 0.0
    arrived: int = 0
    dropped: int = 0
    late: int = 0

    def merge(self, other: Samples) -> None:
        self.latencies_ms.extend(other.latencies_ms)
        self.images += other.images
        self.elapsed_s += other.elapsed_s
        self.arrived += other.arrived
        self.dropped += other.dropped
        self.late += other.late


def single_stream(work: Workload, policy: RunPolicy) -> Samples:
    """Back-to-back synchronous iterations; one latency per iteration."""
    samples = Samples()
    budget = Budget(policy.min_count, policy.min_duration_s)
    while not budget.done:
        start = clock()
        work.step()
        samples.latencies_ms.append((clock() - start) * 1000.0)
        budget.tick()
    samples.elapsed_s = budget.elapsed_s
    samples.images = budget.done_count * work.batch_size
    return samples


def throughput(work: Workload, policy: RunPolicy, *, in_flight: int = 1) -> Samples:
    """Keep ``in_flight`` requests submitted; count finished images over the window.

    The latency recorded per request is submit→collect; with more than one request in flight it
    includes queueing and is not comparable with single-stream latency.
    """
    if in_flight < 1:
        raise ConfigError(f"in-flight requests must be at least 1, not {in_flight}")
    samples = Samples()
    budget = Budget(policy.min_count, policy.min_duration_s)
    pending: deque[tuple[float, Any]] = deque((clock(), work.submit()) for _ in range(in_flight))
    while pending:
        started, handle = pending.popleft()
        work.finish(handle)
        samples.latencies_ms.append((clock() - started) * 1000.0)
        budget.tick()
        if not budget.done:
            pending.append((clock(), work.submit()))
    samples.elapsed_s = budget.elapsed_s
    samples.images = budget.done_count * work.batch_size
    return samples


def camera_paced(
    work: Workload, policy: RunPolicy, *, fps: float, deadline_ms: float | None = None
) -> Samples:
    """Frames arrive every ``1/fps`` s; latency runs from a frame's arrival to its result."""
    if fps <= 0:
        raise ConfigError(f"--fps must be positive, not {fps}")
    interval = 1.0 / fps
    deadline_s = (deadline_ms / 1000.0) if deadline_ms else interval
    samples = Samples()
    budget = Budget(policy.min_count, policy.min_duration_s)
    origin = clock()
    next_index = 0
    while not budget.done:
        newest = math.floor((clock() - origin) / interval)
        if newest < next_index:  # idle: wait for the next frame to arrive
            sleep_until(origin + next_index * interval)
            newest = next_index
        samples.dropped += newest - next_index
        arrival = origin + newest * interval
        work.step()
        latency_s = clock() - arrival
        samples.latencies_ms.append(latency_s * 1000.0)
        samples.late += latency_s > deadline_s
        next_index = newest + 1
        budget.tick()
    samples.arrived = next_index
    samples.elapsed_s = budget.elapsed_s
    samples.images = budget.done_count
    return samples


def summarize(scenario: str, samples: Samples, **settings: Any) -> dict[str, Any]:
    """The JSON-ready figures of one scenario (latencies in ms, rates in images/s)."""
    result: dict[str, Any] = {"latency_ms": summarize_latencies(samples.latencies_ms)}
    result["images"] = samples.images
    result["duration_s"] = round(samples.elapsed_s, 4)
    result["images_per_s"] = (
        round(samples.images / samples.elapsed_s, 3) if samples.elapsed_s > 0 else None
    )
    if scenario == PACED:
        missed = samples.dropped + samples.late
        result.update(
            frames_arrived=samples.arrived,
            frames_processed=samples.images,
            frames_dropped=samples.dropped,
            frames_late=samples.late,
            deadline_miss_share=round(missed / samples.arrived, 6) if samples.arrived else None,
        )
    result.update(settings)
    return result
