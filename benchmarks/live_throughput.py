"""As-fast-as-possible live loop on cup.mp4 against its peers, interleaved in rounds.

* live: ``edgevision live --pace fast`` (threads: capture ‖ inference ‖ present), every frame
  decoded, inferred, drawn; no window, no recording.
* naive: one thread doing read → preprocess → infer → top-k → draw per frame.
* bench end-to-end: exactly what ``edgevision bench --e2e-source cup.mp4`` times per frame
  (decode + preprocess + infer + top-k, no drawing). Goal: live ≥ 0.95 of it.
* in-memory ceiling: frames decoded beforehand, preprocess + infer only; no loop that also
  decodes and draws on the same cores can reach it, it is shown for scale.

Run: ``python benchmarks/live_throughput.py [--bundle B] [--rounds 3] [--threads 2]``;
writes ``benchmarks/results/live_throughput.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
from live_common import CUP, conditions, decode_all, default_bundle, write_result

from edgevision.benchmark.workload import EndToEnd
from edgevision.live import overlay
from edgevision.live.app import LiveRequest, run_live
from edgevision.predict import Classifier, to_probabilities, top_k
from edgevision.runtime import RuntimeOptions, open_runtime


def live_fps(bundle: Path, threads: int) -> float:
    request = LiveRequest(bundle=bundle, source=str(CUP), pace="fast", threads=threads)
    request.log_every_s = 0
    summary = run_live(request)
    return summary["frames"]["processed"] / summary["duration_s"]


def naive_fps(classifier: Classifier) -> float:
    start = time.perf_counter()
    capture = cv2.VideoCapture(str(CUP))
    count = 0
    ok, frame = capture.read()
    while ok:
        prediction = classifier.predict(frame)
        overlay.render(frame, prediction)
        count += 1
        ok, frame = capture.read()
    capture.release()
    return count / (time.perf_counter() - start)


def end_to_end_fps(classifier: Classifier, frames: list) -> float:
    start = time.perf_counter()
    for frame in frames:
        raw = classifier.runtime.infer(classifier.prepare(frame))
        top_k(to_probabilities(raw, classifier.output)[0], classifier.labels, classifier.k)
    return len(frames) / (time.perf_counter() - start)


def bench_end_to_end_fps(runtime, count: int) -> float:
    """What ``edgevision bench --e2e-source cup.mp4`` times: decode + preprocess + infer + top-k."""
    workload = EndToEnd(runtime, CUP)
    start = time.perf_counter()
    for _ in range(count):
        workload.step()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    bundle = args.bundle or default_bundle()
    classifier = Classifier(open_runtime(bundle, options=RuntimeOptions(threads=args.threads)))
    result = {"conditions": conditions(bundle, classifier.runtime.describe(), args.threads)}
    frames = decode_all(CUP)
    end_to_end_fps(classifier, frames[:20])  # warm-up

    rounds = {"live": [], "naive": [], "bench_end_to_end": [], "in_memory_ceiling": []}
    for _ in range(args.rounds):  # interleaved so drift hits all four alike
        rounds["live"].append(live_fps(bundle, args.threads))
        rounds["naive"].append(naive_fps(classifier))
        rounds["bench_end_to_end"].append(bench_end_to_end_fps(classifier.runtime, len(frames)))
        rounds["in_memory_ceiling"].append(end_to_end_fps(classifier, frames))
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    result["results"] = {
        "video": f"{CUP.name}, {len(frames)} frames",
        "fps_per_round": {k: [round(v, 2) for v in vs] for k, vs in rounds.items()},
        "fps_median": {k: round(v, 2) for k, v in medians.items()},
        "live_over_bench_end_to_end": round(medians["live"] / medians["bench_end_to_end"], 3),
        "live_over_naive": round(medians["live"] / medians["naive"], 3),
        "live_over_in_memory_ceiling": round(medians["live"] / medians["in_memory_ceiling"], 3),
        "goal_live_over_bench_end_to_end": 0.95,
    }
    write_result("live_throughput", result)


if __name__ == "__main__":
    main()
