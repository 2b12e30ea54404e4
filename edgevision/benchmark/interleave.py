"""Run several candidates (variants, backends, precisions) in interleaved rounds.

Machine drift — turbo budgets, thermal throttling, a neighbour's job — changes speed over tens of
seconds. Measuring candidate A fully and then B lets that drift land on one of them; splitting
each scenario into rounds and rotating the order within each round spreads it over all of them.
Each candidate is warmed up once per scenario before its first round and gets one untimed
iteration at the start of every later round (switching models evicts the other's caches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgevision.benchmark.scenarios import (
    PACED,
    SINGLE_STREAM,
    THROUGHPUT,
    Samples,
    Workload,
    camera_paced,
    single_stream,
    summarize,
    throughput,
)
from edgevision.benchmark.timing import RunPolicy, warm_up
from edgevision.errors import ConfigError
from edgevision.runtime.base import Runtime


@dataclass
class Candidate:
    """One thing being measured: a loaded runtime and the work of one timed iteration."""

    label: str
    runtime: Runtime
    workload: Workload
    cold_start: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] | None = None
    samples: dict[str, Samples] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What to measure and for how long.

    Attributes:
        scenarios: Scenario names in the order they run.
        policy: Warm-up and minimum count/duration per scenario and candidate.
        rounds: Interleaving rounds each scenario is split into.
        fps: Arrival rate of the camera-paced scenario.
        deadline_ms: Paced deadline; None means one frame interval.
        in_flight: Requests kept in flight for throughput; None asks the runtime
            (OpenVINO's optimal number of requests) or uses 1.
    """

    scenarios: tuple[str, ...] = (SINGLE_STREAM,)
    policy: RunPolicy = field(default_factory=RunPolicy)
    rounds: int = 3
    fps: float = 30.0
    deadline_ms: float | None = None
    in_flight: int | None = None

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1, not {self.rounds}")

    def settings(self, scenario: str, candidate: Candidate) -> dict[str, Any]:
        if scenario == THROUGHPUT:
            return {"in_flight": self.requests(candidate)}
        if scenario == PACED:
            return {"fps": self.fps, "deadline_ms": self.deadline_ms or round(1000 / self.fps, 4)}
        return {}

    def requests(self, candidate: Candidate) -> int:
        if self.in_flight:
            return self.in_flight
        optimal = getattr(candidate.runtime, "optimal_requests", None)
        return int(optimal()) if callable(optimal) else 1


def _slice(scenario: str, candidate: Candidate, plan: Plan, policy: RunPolicy) -> Samples:
    work = candidate.workload
    if scenario == SINGLE_STREAM:
        return single_stream(work, policy)
    if scenario == THROUGHPUT:
        return throughput(work, policy, in_flight=plan.requests(candidate))
    if scenario == PACED:
        return camera_paced(work, policy, fps=plan.fps, deadline_ms=plan.deadline_ms)
    raise ConfigError(
        f"unknown scenario {scenario!r}; choose from single-stream, throughput, paced"
    )


def measure(
    candidates: list[Candidate],
    plan: Plan,
    *,
    on_slice: Callable[[str, int, Candidate], None] | None = None,
) -> None:
    """Measure every scenario of ``plan`` on every candidate, filling ``candidate.samples``.

    Args:
        candidates: What to measure; their runtimes stay loaded throughout.
        plan: Scenarios, limits and rounds.
        on_slice: Called before each slice with (scenario, round, candidate), e.g. for progress.
    """
    round_policy = plan.policy.per_round(plan.rounds)
    for scenario in plan.scenarios:
        for candidate in candidates:
            warm_up(candidate.workload.step, plan.policy)
            candidate.samples[scenario] = Samples()
        for round_index in range(plan.rounds):
            shift = round_index % len(candidates)
            for candidate in candidates[shift:] + candidates[:shift]:
                if on_slice is not None:
                    on_slice(scenario, round_index, candidate)
                if round_index > 0:
                    candidate.workload.step()
                piece = _slice(scenario, candidate, plan, round_policy)
                candidate.samples[scenario].merge(piece)


def summaries(candidate: Candidate, plan: Plan) -> dict[str, dict[str, Any]]:
    """JSON-ready figures per scenario for one measured candidate."""
    return {
        name: summarize(name, samples, **plan.settings(name, candidate))
        for name, samples in candidate.samples.items()
    }


def run_record(candidate: Candidate, plan: Plan, *, bundle: str) -> dict[str, Any]:
    """The result-file entry for one measured candidate (schema version 2, see results.py)."""
    runtime = candidate.runtime
    options = runtime.options
    return {
        "label": candidate.label,
        "bundle": bundle,
        "model": runtime.bundle.manifest.provenance.get("arch"),
        "backend": runtime.backend,
        "variant": runtime.variant.name,
        "format": runtime.variant.format,
        "precision_requested": runtime.variant.precision,
        "precision_used": runtime.precision_used,
        "device_requested": options.device,
        "device_used": runtime.device_used,
        "threads": options.threads,
        "streams": options.streams,
        "hint": options.hint,
        "inference_precision": options.inference_precision,
        "timed_region": candidate.workload.timed_region,
        "batch_size": candidate.workload.batch_size,
        "runtime": runtime.describe(),
        "cold_start": candidate.cold_start,
        "scenarios": summaries(candidate, plan),
        "accuracy": candidate.accuracy,
        "samples_ms": {
            name: [round(x, 4) for x in samples.latencies_ms]
            for name, samples in candidate.samples.items()
        },
    }
