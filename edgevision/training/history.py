"""Per-epoch metrics of a run, kept as a list of rows and written as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from edgevision.fsutil import atomic_write_text


def write_history(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``metrics.json`` and ``metrics.csv`` (one row per completed epoch)."""
    atomic_write_text(run_dir / "metrics.json", json.dumps(rows, indent=2) + "\n")
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run_dir / "metrics.csv", buffer.getvalue())


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """Rows of ``metrics.json``; empty when the run has none yet."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return []
    return list(json.loads(path.read_text()))
