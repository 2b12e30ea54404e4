"""The conditions a result was measured under: hardware, software, power and thermal state.

Everything is read from files and tools that are present without extra installs (``/proc``,
``/sys``, ``nvidia-smi``, ``nvpmodel``); what cannot be read is recorded as None rather than
guessed. Reading takes well under a second and happens outside any timed region.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("numpy", "opencv-python-headless", "opencv-python", "onnxruntime",
            "onnxruntime-gpu", "openvino", "tensorrt", "nncf")  # fmt: skip


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _run(command: list[str], timeout_s: float = 5.0) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (x86 and most ARM), else platform's guess."""
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 2)
    return None


def governors() -> list[str]:
    """Distinct CPU frequency governors across cores (``performance``, ``powersave``, ...)."""
    found = {
        _read(p) for p in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")
    }
    return sorted(g for g in found if g)


def thermal_zones() -> dict[str, float]:
    """Temperatures in °C by zone type, where the kernel exposes them (Jetson, laptops)."""
    temps: dict[str, float] = {}
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*")):
        kind, raw = _read(zone / "type"), _read(zone / "temp")
        if kind and raw and raw.lstrip("-").isdigit():
            temps[f"{kind}:{zone.name}"] = int(raw) / 1000.0
    return temps


def jetson() -> dict[str, Any] | None:
    """L4T release and nvpmodel power mode on an NVIDIA Jetson; None elsewhere."""
    release = _read("/etc/nv_tegra_release")
    if release is None:
        return None
    return {"l4t_release": release.splitlines()[0], "nvpmodel": _run(["nvpmodel", "-q"])}


def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs with driver version via nvidia-smi; empty when there is none or no tool."""
    out = _run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    rows = [line.split(",") for line in (out or "").splitlines() if line.strip()]
    return [{"name": r[0].strip(), "driver": r[-1].strip()} for r in rows]


def versions() -> dict[str, str]:
    """Python, edgevision and the installed runtime/library versions."""
    from edgevision import __version__

    found = {"python": platform.python_version(), "edgevision": __version__}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def conditions() -> dict[str, Any]:
    """Everything above in one JSON-ready dict (read at the start of a bench run)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python_executable": sys.executable,
        "versions": versions(),
        "gpus": gpus(),
        "cpu_governor": governors() or None,
        "jetson": jetson(),
        "thermal_c": thermal_zones() or None,
        "load_average": [round(x, 2) for x in load] if load else None,
    }
