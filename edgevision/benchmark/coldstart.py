"""Cold start: how long a bundle takes to open, load/compile, and answer its first inference.

Measured once per candidate, before any warm-up, and reported apart from steady-state latency.
The operating system's file cache is not flushed (that needs root and disturbs other work), so
a second run on the same machine reads the model from memory; the figure is "process start",
not "power-on".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgevision.benchmark.workload import synthetic_batch
from edgevision.runtime import Runtime, RuntimeOptions, open_runtime


def open_with_cold_start(
    bundle: str | Path,
    *,
    backend: str | None,
    variant: str | None,
    precision: str | None,
    options: RuntimeOptions,
) -> tuple[Runtime, dict[str, Any]]:
    """Open a runtime and time its cold start.

    Returns:
        The runtime and ``{"open_ms", "load_ms", "first_inference_ms"}``: ``open_ms`` is wall
        time for reading and verifying the bundle, loading, and the start-up self-test;
        ``load_ms`` is the backend's own load/compile time; ``first_inference_ms`` is the
        first model call.
    """
    start = time.perf_counter()
    runtime = open_runtime(
        bundle, backend=backend, variant=variant, precision=precision, options=options
    )
    opened = time.perf_counter()
    # open_runtime's start-up self-test is the model's first inference; time one here only
    # when a caller opened without it.
    first_ms = runtime.first_inference_ms
    if first_ms is None:
        batch = synthetic_batch(runtime)
        first = time.perf_counter()
        runtime.infer(batch)
        first_ms = (time.perf_counter() - first) * 1000.0
    return runtime, {
        "open_ms": round((opened - start) * 1000.0, 3),
        "load_ms": round(runtime.load_time_ms, 3),
        "first_inference_ms": round(first_ms, 3),
    }
