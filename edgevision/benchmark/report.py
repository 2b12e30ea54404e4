"""Merge bench results from many devices into one Markdown table, one HTML page and one plot.

Every figure keeps the unit it was measured in (ms for latency, images/s for rates, % for the
paced deadline-miss share); rows are labelled with the host, so results from different devices,
backends and precisions sit side by side.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgevision.benchmark.plots import Series, plot_latency
from edgevision.benchmark.results import load_result
from edgevision.errors import ConfigError, DataError
from edgevision.fsutil import atomic_write_text, check_writable

COLUMNS = (
    ("host", "host"), ("cpu", "CPU"), ("candidate", "candidate"), ("device", "device used"),
    ("precision", "precision used"), ("threads", "threads"), ("region", "timed region"),
    ("p50", "p50 ms"), ("p90", "p90 ms"), ("p99", "p99 ms"), ("ips", "throughput images/s"),
    ("paced_p99", "paced p99 ms"), ("miss", "paced misses %"), ("top1", "top-1 %"),
    ("cold", "load + 1st ms"), ("source", "file"),
)  # fmt: skip


@dataclass
class Row:
    values: dict[str, str]
    series: Series


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _row(run: dict[str, Any], host: dict[str, Any], source: str) -> Row:
    scenarios = run.get("scenarios", {})
    single = scenarios.get("single-stream", {}).get("latency_ms", {})
    paced = scenarios.get("paced", {})
    miss = paced.get("deadline_miss_share")
    top1 = (run.get("accuracy") or {}).get("top1")
    cold = run.get("cold_start") or {}
    cold_ms = (
        cold["load_ms"] + cold["first_inference_ms"]
        if {"load_ms", "first_inference_ms"} <= cold.keys()
        else None
    )
    hostname = host.get("hostname") or "?"
    values = {
        "host": hostname, "cpu": host.get("cpu_model") or "?", "candidate": run.get("label"),
        "device": run.get("device_used"), "precision": run.get("precision_used"),
        "threads": run.get("threads"), "region": run.get("timed_region"),
        "p50": single.get("p50"), "p90": single.get("p90"), "p99": single.get("p99"),
        "ips": scenarios.get("throughput", {}).get("images_per_s"),
        "paced_p99": paced.get("latency_ms", {}).get("p99"),
        "miss": None if miss is None else 100.0 * miss,
        "top1": None if top1 is None else 100.0 * top1, "cold": cold_ms, "source": source,
    }  # fmt: skip
    series = Series(
        f"{hostname}: {run.get('label')}",
        run.get("samples_ms", {}).get("single-stream", []),
        single.get("p50"),
    )
    return Row({k: _fmt(v) for k, v in values.items()}, series)


def collect_rows(paths: list[str | os.PathLike[str]]) -> list[Row]:
    """Rows of every run in every result file, in the order given."""
    if not paths:
        raise DataError("give at least one bench result file (JSON written by 'bench --json')")
    rows = []
    for path in paths:
        rows.extend(result_rows(load_result(path), Path(path).name))
    return rows


def result_rows(result: dict[str, Any], source: str) -> list[Row]:
    """Rows of one loaded result (``source`` names its file in the table)."""
    return [_row(run, result.get("host") or {}, source) for run in result["runs"]]


def _md_cell(text: str) -> str:
    # A bare "|" would end the cell (a label or host name may hold one); a newline the row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[Row]) -> str:
    header = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(_md_cell(r.values[key]) for key, _ in COLUMNS) + " |" for r in rows]
    return "\n".join([header, rule, *body]) + "\n"


def html_page(rows: list[Row], plot_name: str | None) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(r.values[k])}</td>" for k, _ in COLUMNS) + "</tr>"
        for r in rows
    )
    image = f'<img src="{html.escape(plot_name)}" alt="latency plot">' if plot_name else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>edgevision bench report"
        "</title><style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:right}</style></head><body>"
        f"<h1>edgevision bench report</h1><table><tr>{head}</tr>{body}</table>{image}"
        "</body></html>\n"
    )


REPORT_FILES = ("report.md", "report.html", "latency.png")


def check_report_folder(out_dir: str | os.PathLike[str], *, force: bool = False) -> None:
    """Refuse an ``out_dir`` that is a file, or that holds report files (unless ``force``).

    Raises:
        ConfigError: The folder is unusable or would have files replaced.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the report")
    existing = [name for name in REPORT_FILES if (out / name).exists()]
    if existing and not force:
        raise ConfigError(
            f"{out} already holds {', '.join(existing)}; choose another --out folder or pass "
            "--force to replace them"
        )


def write_report(
    paths: list[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    plot: bool = True,
    force: bool = False,
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and (with ``plot``) ``latency.png`` into ``out_dir``.

    Every input is read and checked before anything is written; each file is written atomically.

    Args:
        paths: Bench result files.
        out_dir: Folder to write into (created when missing).
        plot: Also draw the PNG (needs matplotlib).
        force: Replace report files already in ``out_dir``.

    Returns:
        The paths written, by kind.

    Raises:
        ConfigError: ``out_dir`` already holds report files and ``force`` is false.
        DataError: A result file is unreadable or has a field of the wrong type.
    """
    check_report_folder(out_dir, force=force)
    rows = collect_rows(paths)
    out = Path(out_dir)
    check_writable(out / REPORT_FILES[0])  # creates the folder; only once the inputs are good
    written = {}
    plot_name = None
    if plot:
        written["png"] = out / "latency.png"
        plot_latency([r.series for r in rows], written["png"], title="single-stream latency")
        plot_name = written["png"].name
    written["markdown"] = out / "report.md"
    picture = f"\n![latency]({plot_name})\n" if plot_name else ""
    atomic_write_text(
        written["markdown"], "# edgevision bench report\n\n" + markdown_table(rows) + picture
    )
    written["html"] = out / "report.html"
    atomic_write_text(written["html"], html_page(rows, plot_name))
    return written
