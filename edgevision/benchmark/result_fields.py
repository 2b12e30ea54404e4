"""Field-by-field type checks of a bench result read from disk (schema version 2).

A result file may have been edited by hand, cut short by a copy, or written by another tool;
``report`` and the CSV flattening index into it freely, so every field they read is checked
here first and a wrong one is named (file and dotted field path) in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgevision.errors import DataError

_TEXT_FIELDS = (
    "label", "bundle", "model", "backend", "variant", "format", "precision_requested",
    "precision_used", "device_requested", "device_used", "hint", "inference_precision",
    "timed_region",
)  # fmt: skip
_INT_FIELDS = ("threads", "streams", "batch_size")
_OPTIONAL_TABLES = ("runtime", "cold_start", "accuracy")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, expected: str, value: Any) -> None:
        raise DataError(
            f"{self.path}: field {field} should be {expected}, not {_kind(value)}; "
            "re-run 'bench --json' to get a complete result file"
        )

    def table(self, value: Any, field: str, *, optional: bool = False) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            self.fail(field, "a table (JSON object)" + (" or null" if optional else ""), value)
        return value

    def number(self, value: Any, field: str) -> None:
        if value is not None and not _is_number(value):
            self.fail(field, "a number or null", value)

    def text(self, value: Any, field: str) -> None:
        if value is not None and not isinstance(value, str):
            self.fail(field, "a string or null", value)

    def integer(self, value: Any, field: str) -> None:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            self.fail(field, "an integer or null", value)


def check_result(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check the fields ``report`` and the CSV read; returns ``data`` unchanged.

    Raises:
        DataError: A field has the wrong type; the message names the file and the field.
    """
    check = _Checker(path)
    host = check.table(data.get("host"), "host", optional=True)
    check.text(host.get("hostname"), "host.hostname")
    check.text(host.get("cpu_model"), "host.cpu_model")
    check.table(data.get("settings"), "settings", optional=True)
    runs = data.get("runs")
    if not isinstance(runs, list):
        check.fail("runs", "a list of runs", runs)
    for index, run in enumerate(runs):
        _check_run(check, check.table(run, f"runs[{index}]"), f"runs[{index}]")
    return data


def _check_run(check: _Checker, run: dict[str, Any], where: str) -> None:
    for key in _TEXT_FIELDS:
        check.text(run.get(key), f"{where}.{key}")
    for key in _INT_FIELDS:
        check.integer(run.get(key), f"{where}.{key}")
    for key in _OPTIONAL_TABLES:
        check.table(run.get(key), f"{where}.{key}", optional=True)
    cold = run.get("cold_start") or {}
    for key in ("load_ms", "first_inference_ms"):
        check.number(cold.get(key), f"{where}.cold_start.{key}")
    check.number((run.get("accuracy") or {}).get("top1"), f"{where}.accuracy.top1")
    scenarios = check.table(run.get("scenarios"), f"{where}.scenarios")
    for name, figures in scenarios.items():
        _check_scenario(check, check.table(figures, f"{where}.scenarios.{name}"),
                        f"{where}.scenarios.{name}")  # fmt: skip
    samples = check.table(run.get("samples_ms", {}), f"{where}.samples_ms")
    for name, values in samples.items():
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            check.fail(f"{where}.samples_ms.{name}", "a list of numbers", values)


def _check_scenario(check: _Checker, figures: dict[str, Any], where: str) -> None:
    latency = check.table(figures.get("latency_ms", {}), f"{where}.latency_ms")
    check.integer(latency.get("count"), f"{where}.latency_ms.count")
    for stat in ("p50", "p90", "p95", "p99", "mean", "std", "min", "max"):
        check.number(latency.get(stat), f"{where}.latency_ms.{stat}")
    check.number(figures.get("images_per_s"), f"{where}.images_per_s")
    check.number(figures.get("deadline_miss_share"), f"{where}.deadline_miss_share")
