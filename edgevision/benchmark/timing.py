"""How long to warm up and how long to measure: by count and by time, whichever ends later.

A phase ends only when *both* its count and its duration are reached, so a fast model still runs
for the minimum time (smoothing out frequency and scheduler noise) and a slow one still collects
the minimum number of samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from edgevision.errors import ConfigError

clock = time.perf_counter


@dataclass(frozen=True)
class RunPolicy:
    """Warm-up and measurement limits for one scenario of one candidate.

    Attributes:
        warmup_count: Untimed iterations before measuring, at least.
        warmup_s: Untimed seconds before measuring, at least.
        min_count: Timed iterations (or paced frames), at least.
        min_duration_s: Timed seconds, at least.
    """

    warmup_count: int = 10
    warmup_s: float = 1.0
    min_count: int = 200
    min_duration_s: float = 5.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise ConfigError(f"{name}={value} must not be negative")
        if self.min_count < 1:
            raise ConfigError("min_count must be at least 1")

    def per_round(self, rounds: int) -> RunPolicy:
        """The measurement share of one interleaving round (warm-up is done once, up front)."""
        return replace(
            self,
            min_count=max(1, math.ceil(self.min_count / rounds)),
            min_duration_s=self.min_duration_s / rounds,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Budget:
    """Counts iterations against a count and a duration; ``done`` once both are reached."""

    def __init__(self, count: int, duration_s: float) -> None:
        self.count = count
        self.duration_s = duration_s
        self.done_count = 0
        self.start = clock()

    @property
    def elapsed_s(self) -> float:
        return clock() - self.start

    @property
    def done(self) -> bool:
        return self.done_count >= self.count and self.elapsed_s >= self.duration_s

    def tick(self, n: int = 1) -> None:
        self.done_count += n


def warm_up(step: Callable[[], Any], policy: RunPolicy) -> int:
    """Run ``step`` untimed until the warm-up count and time are both reached.

    Returns:
        The number of warm-up iterations run.
    """
    budget = Budget(policy.warmup_count, policy.warmup_s)
    while not budget.done:
        step()
        budget.tick()
    return budget.done_count


def sleep_until(deadline: float) -> None:
    """Sleep until ``deadline`` on :data:`clock`; spins the last half millisecond because
    ``time.sleep`` can overshoot by that much, which would add to a paced frame's latency."""
    remaining = deadline - clock()
    if remaining > 0.0005:
        time.sleep(remaining - 0.0005)
    while clock() < deadline:
        pass
