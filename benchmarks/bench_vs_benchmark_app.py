"""``edgevision bench`` against OpenVINO's ``benchmark_app`` on the same IR, interleaved.

For a MobileNetV2 and a ResNet-18 (torchvision, random-init weights: speed does not depend on
them) this script exports ONNX, converts it to an FP32 IR (weights not compressed), quantizes an
INT8 IR with NNCF on real hymenoptera photos, and then, round after round, runs
``edgevision bench`` (single-stream) and ``benchmark_app`` (sync API) with the same latency hint,
threads and inference precision (``f32`` for true FP32; the plugin default for INT8). Both are
separate processes, so each pays its own load and compile outside the timed window.

Pairing: within each round the two tools run back to back, in alternating order (edgevision
first in odd rounds, benchmark_app first in even ones), so that a drift of the host's speed
falls on both. The ratio is the median over rounds of the paired ratios of medians (goal
<= 1.05); the ratio of the medians of medians and of the minimum latencies are recorded too.

Run-to-run: ``consecutive`` runs each tool twice in a row for ``--long-seconds`` on one case and
records the relative difference of the two medians (goal: within 5 %), beside the spread of
consecutive rounds of the short runs, for both tools: what the host does to a median shows in
benchmark_app's figures as much as in edgevision's.

Every case runs at each thread count given (default 1 and 2). On a 2-vCPU virtual machine the
2-thread figures carry the hypervisor's noise: inference uses both vCPUs in lock-step, so time
taken from either one (steal, another process) stalls the whole request.

Usage: ``python benchmarks/bench_vs_benchmark_app.py [--rounds 6] [--seconds 3] [--threads 1,2]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDGEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULT = REPO / "benchmarks" / "results" / "bench_vs_benchmark_app.json"
BENCHMARK_APP = Path(sys.executable).with_name("benchmark_app")
MODELS = ("mobilenet_v2", "resnet18")


def export_onnx(arch: str, path: Path) -> None:
    """torchvision ``arch`` (random init, fixed seed) → ONNX, batch 1..8, NCHW float32 224x224."""
    import torch
    import torchvision

    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    example = torch.randn(1, 3, 224, 224)
    # The legacy exporter writes one self-contained file quickly; speed is what matters here.
    torch.onnx.export(
        model, (example,), str(path), dynamo=False, opset_version=17,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )  # fmt: skip


def calibration_inputs(contract, count: int = 64) -> list:
    """Real photos through edgevision's own preprocessing, batch of one each."""
    from edgevision.images import list_images, load_image
    from edgevision.preprocess import preprocess

    paths = [p for p in list_images(DATA / "hymenoptera" / "train") if p.suffix != ".gif"]
    step = max(1, len(paths) // count)
    return [preprocess(load_image(p), contract)[None] for p in paths[::step][:count]]


def build_bundle(arch: str, folder: Path, *, with_int8: bool = True) -> Path:
    """A bundle with ``onnx-fp32``, ``ov-fp32`` and (optionally) NNCF ``ov-int8`` variants."""
    import nncf
    import openvino as ov

    from edgevision.bundle import Manifest, Variant, sha256_file, write_manifest
    from edgevision.contract import InputContract

    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(arch, folder / "model.onnx")
    contract = InputContract()  # torchvision ImageNet contract: 256 → crop 224, RGB, mean/std
    fp32 = ov.Core().read_model(folder / "model.onnx")
    ov.save_model(fp32, folder / "model.xml", compress_to_fp16=False)
    files = {"onnx-fp32": ("onnx", "fp32", ["model.onnx"]),
             "ov-fp32": ("openvino", "fp32", ["model.xml", "model.bin"])}  # fmt: skip
    if with_int8:
        dataset = nncf.Dataset(calibration_inputs(contract))
        int8 = nncf.quantize(ov.Core().read_model(folder / "model.onnx"), dataset, subset_size=64)
        ov.save_model(int8, folder / "model_int8.xml", compress_to_fp16=False)
        files["ov-int8"] = ("openvino", "int8", ["model_int8.xml", "model_int8.bin"])
    variants = [
        Variant(name, fmt, precision, names[0], {n: sha256_file(folder / n) for n in names},
                {"min": 1, "max": 8}, {"source": f"torchvision {arch}, random init"})
        for name, (fmt, precision, names) in files.items()
    ]  # fmt: skip
    labels = [f"class_{i}" for i in range(1000)]
    provenance = {"arch": arch, "weights": "random init"}
    manifest = Manifest(labels=labels, input=contract, variants=variants, provenance=provenance)
    write_manifest(folder, manifest)
    return folder


def run_edgevision(
    bundle: Path, variant: str, precision: str | None, threads: int, seconds: float, out: Path
) -> dict:
    """One ``edgevision bench`` single-stream run; returns its median and minimum (ms)."""
    command = [sys.executable, "-m", "edgevision", "-q", "bench", "--bundle", str(bundle),
               "--backend", "openvino", "--variant", variant, "--hint", "latency",
               "--threads", str(threads), "--scenario", "single-stream", "--rounds", "1",
               "--warmup-s", "1", "--min-duration-s", str(seconds),
               "--json", str(out), "--force"]  # fmt: skip
    if precision:
        command += ["--inference-precision", precision]
    subprocess.run(command, check=True, capture_output=True, text=True)
    (run,) = json.loads(out.read_text())["runs"]
    latency = run["scenarios"]["single-stream"]["latency_ms"]
    return {"p50": latency["p50"], "min": latency["min"], "precision_used": run["precision_used"],
            "device_used": run["device_used"]}  # fmt: skip


def run_benchmark_app(
    xml: Path, precision: str | None, threads: int, seconds: float, config_path: Path
) -> dict:
    """One ``benchmark_app`` sync run; returns its median and minimum (ms)."""
    # benchmark_app refuses -nthreads next to -hint (a rule of its command line, not of
    # OpenVINO), so threads and precision go in through -load_config beside the same hint.
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads)}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    config_path.write_text(json.dumps({"CPU": config}))
    command = [str(BENCHMARK_APP), "-m", str(xml), "-d", "CPU", "-hint", "latency", "-api",
               "sync", "-load_config", str(config_path), "-t", str(int(seconds)),
               "-data_shape", "[1,3,224,224]"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    found = {k: re.search(rf"{k}:\s+([\d.]+)\s*ms", done.stdout) for k in ("Median", "Min")}
    if not all(found.values()):
        raise RuntimeError(f"no median/min in benchmark_app output:\n{done.stdout[-2000:]}")
    return {"p50": float(found["Median"].group(1)), "min": float(found["Min"].group(1))}


class Case:
    """One model, IR, inference precision and thread count, and its measurements."""

    def __init__(self, arch: str, variant: str, precision: str | None, threads: int) -> None:
        self.arch, self.variant, self.precision, self.threads = arch, variant, precision, threads
        self.ours: list[dict] = []
        self.theirs: list[dict] = []

    def xml(self, bundle: Path) -> Path:
        return bundle / ("model.xml" if self.variant == "ov-fp32" else "model_int8.xml")

    def measure(self, bundle: Path, seconds: float, tmp: Path, *, ours_first: bool) -> None:
        def ours() -> None:
            args = (bundle, self.variant, self.precision, self.threads, seconds, tmp / "r.json")
            self.ours.append(run_edgevision(*args))

        def theirs() -> None:
            args = (self.xml(bundle), self.precision, self.threads, seconds, tmp / "ov.json")
            self.theirs.append(run_benchmark_app(*args))

        for step in (ours, theirs) if ours_first else (theirs, ours):
            step()

    def label(self) -> str:
        return f"{self.arch} {self.variant} {self.threads}t"

    def summary(self) -> dict:
        ours_p50 = [r["p50"] for r in self.ours]
        theirs_p50 = [r["p50"] for r in self.theirs]
        paired = [a / b for a, b in zip(ours_p50, theirs_p50, strict=True)]
        ratio = statistics.median(paired)
        return {
            "model": self.arch, "variant": self.variant, "threads": self.threads,
            "inference_precision": self.precision or "default",
            "precision_used": self.ours[0]["precision_used"],
            "device_used": self.ours[0]["device_used"],
            "edgevision_p50_ms": ours_p50, "benchmark_app_p50_ms": theirs_p50,
            "edgevision_min_ms": [r["min"] for r in self.ours],
            "benchmark_app_min_ms": [r["min"] for r in self.theirs],
            "paired_ratios": [round(r, 4) for r in paired],
            "ratio": round(ratio, 4),
            "ratio_of_medians": round(
                statistics.median(ours_p50) / statistics.median(theirs_p50), 4
            ),
            "ratio_of_minimums": round(
                min(r["min"] for r in self.ours) / min(r["min"] for r in self.theirs), 4
            ),
            "edgevision_consecutive_spread": round(consecutive_spread(ours_p50), 4),
            "benchmark_app_consecutive_spread": round(consecutive_spread(theirs_p50), 4),
            "ratio_goal_met": ratio <= 1.05,
        }  # fmt: skip


def consecutive_spread(values: list[float]) -> float:
    """The largest relative difference between consecutive values."""
    pairs = zip(values, values[1:], strict=False)
    return max((abs(a - b) / min(a, b) for a, b in pairs), default=0.0)


def long_runs(case: Case, bundle: Path, seconds: float, tmp: Path) -> dict:
    """Each tool twice in a row for ``seconds``; the relative difference of the two medians."""
    for _ in range(2):
        case.measure(bundle, seconds, tmp, ours_first=True)
    ours = [r["p50"] for r in case.ours[-2:]]
    theirs = [r["p50"] for r in case.theirs[-2:]]
    return {
        "case": case.label(), "seconds": seconds,
        "edgevision_p50_ms": ours, "benchmark_app_p50_ms": theirs,
        "edgevision_spread": round(consecutive_spread(ours), 4),
        "benchmark_app_spread": round(consecutive_spread(theirs), 4),
        "spread_goal_met": consecutive_spread(ours) <= 0.05,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--long-seconds", type=float, default=60)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--work", type=Path, help="keep (and reuse) the built bundles here")
    args = parser.parse_args()
    from edgevision.benchmark.host import conditions

    before = conditions()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        work = args.work or tmp
        bundles = {
            m: work / m if (work / m / "manifest.json").is_file() else build_bundle(m, work / m)
            for m in args.models.split(",")
        }
        precisions = (("ov-fp32", "f32"), ("ov-int8", None))
        thread_counts = [int(t) for t in args.threads.split(",")]
        cases = [Case(m, v, p, t) for t in thread_counts for m in bundles for v, p in precisions]
        for round_index in range(args.rounds):
            for case in cases:
                case.measure(bundles[case.arch], args.seconds, tmp, ours_first=round_index % 2 == 0)
                print(f"round {round_index + 1} {case.label()}: edgevision "
                      f"{case.ours[-1]['p50']:.3f} ms, benchmark_app "
                      f"{case.theirs[-1]['p50']:.3f} ms", flush=True)  # fmt: skip
        results = [case.summary() for case in cases]
        first = cases[0]
        consecutive = long_runs(first, bundles[first.arch], args.long_seconds, tmp)
    payload = {
        "benchmark": "edgevision bench vs OpenVINO benchmark_app",
        "method": (
            "same IR, device CPU, hint latency, same threads (each count in 'threads'); "
            "FP32 at -infer_precision f32 / --inference-precision f32, INT8 NNCF IR at the "
            "plugin default; benchmark_app -api sync; edgevision single-stream; separate "
            f"processes, back to back in alternating order, {args.rounds} rounds of "
            f"{args.seconds} s per tool and case; ratio = median over rounds of the paired "
            "ratio edgevision median / benchmark_app median (goal <= 1.05); consecutive = "
            f"each tool run twice in a row for {args.long_seconds} s on the first case, "
            "relative difference of the two medians (goal <= 0.05)"
        ),
        "threads": thread_counts,
        "host": before,
        "load_average_after": conditions()["load_average"],
        "results": results,
        "consecutive": consecutive,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(payload, indent=1) + "\n")
    for r in results:
        print(f"{r['model']} {r['variant']} ({r['precision_used']}, {r['threads']} threads): "
              f"ratio {r['ratio']:.3f} (of minimums {r['ratio_of_minimums']:.3f}), round-to-"
              f"round spread edgevision {r['edgevision_consecutive_spread']:.3f}, "
              f"benchmark_app {r['benchmark_app_consecutive_spread']:.3f}")  # fmt: skip
    print(f"consecutive {args.long_seconds} s runs ({consecutive['case']}): edgevision "
          f"{consecutive['edgevision_spread']:.3f}, benchmark_app "
          f"{consecutive['benchmark_app_spread']:.3f}")  # fmt: skip
    print(f"written: {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
