"""The bench result file: a versioned JSON schema, its CSV flattening, and reading old versions.

Schema ``edgevision-bench`` version 2 (current)::

    {"schema": "edgevision-bench", "schema_version": 2, "created": ISO time,
     "command": [...], "host": {conditions}, "settings": {policy, scenarios, rounds, ...},
     "runs": [{"label", "bundle", "model", "backend", "variant", "format",
               "precision_requested", "precision_used", "device_requested", "device_used",
               "threads", "streams", "hint", "inference_precision", "timed_region",
               "batch_size", "runtime": {describe()}, "cold_start": {...},
               "scenarios": {name: {"latency_ms": {...}, "images_per_s", ...}},
               "accuracy": {...} | null, "samples_ms": {name: [...]}}]}

Version 1 is the single-run layout of the first ``bench`` (one backend, flat ``latency_ms`` and
``throughput_images_per_s``); it is converted on reading. Units never change between versions:
milliseconds for latency, images per second for rates.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgevision.benchmark.result_fields import check_result
from edgevision.errors import DataError
from edgevision.fsutil import atomic_write_text

SCHEMA = "edgevision-bench"
SCHEMA_VERSION = 2
CSV_COLUMNS = (
    "label", "host", "cpu_model", "backend", "variant", "device_used", "precision_used",
    "threads", "timed_region", "scenario", "count", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
    "mean_ms", "std_ms", "min_ms", "max_ms", "images_per_s", "deadline_miss_share", "top1",
)  # fmt: skip


def new_result(
    *, host: dict[str, Any], settings: dict[str, Any], runs: list[dict[str, Any]],
    command: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Assemble a current-version result."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command or [],
        "host": host,
        "settings": settings,
        "runs": runs,
    }


def write_json(path: str | os.PathLike[str], result: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")


def csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per run and scenario, with the columns of :data:`CSV_COLUMNS`."""
    host = result.get("host") or {}
    rows = []
    for run in result["runs"]:
        for scenario, figures in run["scenarios"].items():
            latency = figures.get("latency_ms", {})
            row = {key: run.get(key) for key in CSV_COLUMNS if key in run}
            row.update(host=host.get("hostname"), cpu_model=host.get("cpu_model"))
            row.update(scenario=scenario, count=latency.get("count"))
            for stat in ("p50", "p90", "p95", "p99", "mean", "std", "min", "max"):
                row[f"{stat}_ms"] = latency.get(stat)
            row["images_per_s"] = figures.get("images_per_s")
            row["deadline_miss_share"] = figures.get("deadline_miss_share")
            row["top1"] = (run.get("accuracy") or {}).get("top1")
            rows.append(row)
    return rows


def write_csv(path: str | os.PathLike[str], result: dict[str, Any]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(csv_rows(result))
    atomic_write_text(path, buffer.getvalue())


def _upgrade_v1(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Version 1 (one flat run) → version 2 (a list of runs)."""
    try:
        latency = dict(data["latency_ms"])
        run = {
            "label": f"{data['backend']}/{data.get('precision_used', data.get('precision'))}",
            "backend": data["backend"],
            "variant": data.get("variant"),
            "device_used": data.get("device_used", data.get("device")),
            "precision_used": data.get("precision_used", data.get("precision")),
            "threads": data.get("threads"),
            "timed_region": data.get("timed_region", "model"),
            "scenarios": {"single-stream": {"latency_ms": latency}},
            "samples_ms": {},
        }
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: version-1 bench result lacks a required field: {err}") from err
    if data.get("throughput_images_per_s") is not None:
        run["scenarios"]["throughput"] = {"images_per_s": data["throughput_images_per_s"]}
    host = {"cpu_model": data.get("cpu_model"), "hostname": data.get("hostname"),
            "versions": data.get("versions", {})}  # fmt: skip
    return new_result(host=host, settings={"converted_from": 1}, runs=[run]) | {
        "created": data.get("created")
    }


def load_result(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a bench result of the current version, or of one this version converts.

    Raises:
        DataError: The file is missing, not JSON, not a bench result, or of a schema version
            this edgevision cannot read (the message says which it reads).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise DataError(f"bench result not found: {path}") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not a readable JSON bench result: {err}") from err
    if not isinstance(data, dict) or data.get("schema", SCHEMA) != SCHEMA:
        raise DataError(f"{path} is not an edgevision bench result (no schema {SCHEMA!r})")
    version = data.get("schema_version")
    if version == SCHEMA_VERSION:
        if not isinstance(data.get("runs"), list):
            raise DataError(f"{path}: bench result has no list of runs")
        return check_result(data, path)
    if version == 1:
        return check_result(_upgrade_v1(data, path), path)
    raise DataError(
        f"{path} has bench schema version {version!r}; this edgevision reads versions 1 and "
        f"{SCHEMA_VERSION}; re-run bench or use the edgevision that wrote it"
    )
