"""``edgevision bench`` single-stream against a bare ONNX Runtime loop on the same file.

Both sides run in this one process, interleaved in rounds by the bench's own scheduler
(:func:`edgevision.benchmark.interleave.measure`): the edgevision side is exactly what
``edgevision bench`` times (``ModelOnly`` over ``open_runtime``), the bare side is an
``InferenceSession`` made here with the same options set by hand (ORT_ENABLE_ALL, the same
intra-op threads, one inter-op thread, CPU provider) timing ``session.run`` on the same input.
Records both medians and their ratio (goal <= 1.05) in
``benchmarks/results/bench_vs_bare_ort.json``.

Usage: ``python benchmarks/bench_vs_bare_ort.py [BUNDLE] [--threads 2] [--seconds 10]``; with no
bundle (e.g. before the hymenoptera bundle exists) a torchvision MobileNetV2 is exported to ONNX.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "bench_vs_bare_ort.json"


class BareORT:
    """One ``session.run`` per step on a prepared input: nothing of edgevision in the loop."""

    timed_region = "model"
    batch_size = 1

    def __init__(self, model_path: Path, batch, threads: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.feed = {self.session.get_inputs()[0].name: batch}

    def step(self) -> None:
        self.session.run(None, self.feed)


def default_bundle(folder: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_vs_benchmark_app import build_bundle

    return build_bundle("mobilenet_v2", folder, with_int8=False)


def measure(bundle: Path, args) -> dict:
    from edgevision.benchmark.interleave import Candidate, Plan, measure, summaries
    from edgevision.benchmark.timing import RunPolicy
    from edgevision.benchmark.workload import ModelOnly
    from edgevision.runtime import RuntimeOptions, open_runtime

    runtime = open_runtime(
        bundle, backend="onnxruntime", options=RuntimeOptions(threads=args.threads)
    )
    ours = ModelOnly(runtime)
    bare = BareORT(runtime.bundle.file(runtime.variant), ours.batch, args.threads)
    candidates = [Candidate("edgevision", runtime, ours), Candidate("bare-ort", runtime, bare)]
    policy = RunPolicy(warmup_s=2.0, min_count=500, min_duration_s=args.seconds)
    plan = Plan(policy=policy, rounds=args.rounds)
    measure(candidates, plan)
    figures = {c.label: summaries(c, plan)["single-stream"]["latency_ms"] for c in candidates}
    return {
        "variant": runtime.variant.name,
        "model_file": runtime.variant.file,
        "precision_used": runtime.precision_used,
        "device_used": runtime.device_used,
        "latency_ms": figures,
        "ratio": round(figures["edgevision"]["p50"] / figures["bare-ort"]["p50"], 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, help="bundle with an ONNX variant")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per side")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from edgevision.benchmark.host import conditions

    before = conditions()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.bundle or default_bundle(Path(tmp) / "mobilenet_v2")
        outcome = measure(bundle, args)
    payload = {
        "benchmark": "edgevision bench single-stream vs bare ONNX Runtime loop",
        "method": (
            f"same ONNX file and input, ORT_ENABLE_ALL, intra-op threads {args.threads}, "
            f"inter-op 1, CPU provider; {args.rounds} interleaved rounds, {args.seconds} s per "
            "side in total; ratio = edgevision p50 / bare p50 (goal <= 1.05)"
        ),
        "bundle": str(args.bundle) if args.bundle else "torchvision mobilenet_v2, random init",
        "threads": args.threads,
        "host": before,
        "load_average_after": conditions()["load_average"],
        **outcome,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(payload, indent=1) + "\n")
    medians = {k: v["p50"] for k, v in outcome["latency_ms"].items()}
    print(f"medians ms {medians}, ratio {outcome['ratio']:.3f}; written: {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
