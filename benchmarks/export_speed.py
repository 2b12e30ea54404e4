"""Export wall time per variant, and INT8/FP16 speed-up against true FP32, on this CPU.

MobileNetV2 and ResNet-18 (random-initialised weights: speed does not depend on their values)
are exported with the shipped profiles through ``edgevision.export`` (calibration and fidelity on
real hymenoptera photos), then every variant is timed at batch 1 through ``open_runtime`` with
interleaved rounds. "True FP32" for OpenVINO forces ``INFERENCE_PRECISION_HINT=f32``; the
precision each run actually executed is recorded.

Run: ``python benchmarks/export_speed.py`` → ``benchmarks/results/export_speed.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDGEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULT = REPO / "benchmarks" / "results" / "export_speed.json"
THREADS = 2
ROUNDS, ITERS, WARMUP = 5, 40, 10
PROFILES = ["ort-x86-int8", "openvino-cpu-fp32", "openvino-cpu-fp16", "openvino-cpu-int8"]
# (label, variant, backend inference_precision hint); "" keeps the device default.
RUNS = [
    ("onnxruntime fp32", "onnx-fp32", ""),
    ("onnxruntime int8", "onnx-int8", ""),
    ("openvino true fp32", "openvino-fp32", "f32"),
    ("openvino fp32 IR, device default", "openvino-fp32", ""),
    ("openvino fp16 IR, device default", "openvino-fp16", ""),
    ("openvino int8", "openvino-int8", ""),
]


def export(arch: str, out: Path) -> dict:
    import torch

    from edgevision.contract import InputContract
    from edgevision.export import apply_overrides, export_bundle, load_profile, resolve_images
    from edgevision.export.sources import ExportSource
    from edgevision.models import build_model

    torch.manual_seed(0)
    model = build_model(arch, 1000).eval()
    labels = [f"class {i}" for i in range(1000)]
    source = ExportSource(
        "weights",
        labels,
        InputContract(),
        model=model,
        provenance={"arch": arch, "source": "random init"},
    )
    images = resolve_images(labels=labels, data=DATA / "hymenoptera")
    loose = {
        "thresholds.min_agreement": 0.0,
        "thresholds.max_int8_drop": 100.0,
        "fidelity_images": 32,
        "calibration_images": 100,
        "batch_max": 1,
    }
    profiles = [apply_overrides(load_profile(p), loose) for p in PROFILES]
    return export_bundle(source, out, profiles, images).seconds


def time_runs(bundle: Path) -> dict:
    from edgevision.runtime import RuntimeOptions, open_runtime

    batch = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    runtimes = {}
    for label, variant, hint in RUNS:
        options = RuntimeOptions(threads=THREADS, inference_precision=hint or None)
        runtimes[label] = open_runtime(bundle, variant=variant, options=options)
        for _ in range(WARMUP):
            runtimes[label].infer(batch)
    samples = {label: [] for label in runtimes}
    for _ in range(ROUNDS):  # interleaved so that machine drift hits every run equally
        for label, runtime in runtimes.items():
            for _ in range(ITERS):
                start = time.perf_counter()
                runtime.infer(batch)
                samples[label].append((time.perf_counter() - start) * 1000.0)
    return {
        label: {
            "median_ms": round(statistics.median(values), 3),
            "p90_ms": round(float(np.percentile(values, 90)), 3),
            **{k: runtimes[label].describe()[k] for k in ("precision_used", "device_used")},
        }
        for label, values in samples.items()
    }


def speedups(runs: dict) -> dict:
    ort32 = runs["onnxruntime fp32"]["median_ms"]
    ov32 = runs["openvino true fp32"]["median_ms"]
    return {
        "onnxruntime int8 vs onnxruntime fp32": round(
            ort32 / runs["onnxruntime int8"]["median_ms"], 2
        ),
        "openvino int8 vs openvino true fp32": round(ov32 / runs["openvino int8"]["median_ms"], 2),
        "openvino fp16 IR vs openvino true fp32": round(
            ov32 / runs["openvino fp16 IR, device default"]["median_ms"], 2
        ),
    }


def conditions() -> dict:
    import onnxruntime
    import openvino
    import torch

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": THREADS,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__,
        "loadavg_start": os.getloadavg(),
        "batch": 1,
        "input": "1x3x224x224 float32",
        "timed": "model only (runtime.infer)",
        "rounds": ROUNDS,
        "iters_per_round": ITERS,
    }


def main() -> int:
    import torch

    torch.set_num_threads(THREADS)
    result = {"benchmark": "export_speed", "conditions": conditions(), "models": {}}
    with tempfile.TemporaryDirectory() as work:
        for arch in ("torchvision:mobilenet_v2", "torchvision:resnet18"):
            bundle = Path(work) / arch.split(":")[1]
            export_s = export(arch, bundle)
            runs = time_runs(bundle)
            result["models"][arch] = {
                "export_seconds": export_s,
                "latency": runs,
                "speedup": speedups(runs),
            }
            print(arch, json.dumps(result["models"][arch]["speedup"]), file=sys.stderr)
    result["conditions"]["loadavg_end"] = os.getloadavg()
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
