"""Shared pieces of the live benchmarks: the default bundle, run conditions, result writing.

Torch-free, and independent of ``edgevision.benchmark`` on purpose: these scripts measure the
live loop itself.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime

import edgevision

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test data builders, shared with the tests
from sample_data import decode_all, make_foreign_mobilenet_bundle  # noqa: E402, F401 (re-exported)

SHARED = Path(os.environ.get("EDGEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results"
CUP = SHARED / "video" / "cup.mp4"


def default_bundle() -> Path:
    """The tests' torch-free bundle around the quantized ImageNet MobileNet V2 in the shared
    data (uint8 NHWC input, 1001 labels), built in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="live-bench-")) / "bundle"
    return make_foreign_mobilenet_bundle(SHARED, folder)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def conditions(bundle: Path, runtime_info: dict[str, Any], threads: int) -> dict[str, Any]:
    """Where and how the numbers were measured."""
    return {
        "host_cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "edgevision": edgevision.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
        "bundle": str(bundle),
        "runtime": runtime_info,
        "threads": threads,
        "load_average_start": list(os.getloadavg()),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Stamp the end load average and date, write ``benchmarks/results/<name>.json``."""
    result["conditions"]["load_average_end"] = list(os.getloadavg())
    result["conditions"]["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["results"], indent=2))
    print(f"written {path}")
    return path
