"""PNG plots of bench results: latency distribution per candidate and a bar chart of medians.

matplotlib is an optional extra (``report``); it is imported only when a plot is asked for and
always with the non-interactive Agg backend, so plotting works on headless devices.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

from edgevision.errors import missing_extra
from edgevision.fsutil import atomic_write_bytes


@dataclass
class Series:
    """One candidate on the plot: its label, single-stream samples (may be empty) and median."""

    label: str
    samples_ms: Sequence[float]
    median_ms: float | None


def require_matplotlib() -> None:
    """Fail early (before a long measurement) when plots are asked for without matplotlib."""
    _pyplot()


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise missing_extra("matplotlib", "report") from err
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_latency(series: list[Series], path: str | os.PathLike[str], *, title: str = "") -> None:
    """Write a two-panel PNG: box plots of latency (ms) and bars of the medians (ms)."""
    plt = _pyplot()
    height = 1.5 + 0.45 * len(series)
    figure, (dist_ax, bar_ax) = plt.subplots(1, 2, figsize=(12, height), sharey=True)
    positions = list(range(len(series)))
    labels = [s.label for s in series]

    with_samples = [(i, s) for i, s in enumerate(series) if len(s.samples_ms)]
    if with_samples:
        dist_ax.boxplot(
            [list(s.samples_ms) for _, s in with_samples],
            positions=[i for i, _ in with_samples],
            orientation="horizontal",
            whis=(1, 99),
            showfliers=False,
        )
    dist_ax.set_xlabel("single-stream latency (ms); box = p25..p75, whiskers = p1..p99")
    dist_ax.set_yticks(positions, labels)
    dist_ax.grid(axis="x", alpha=0.3)

    medians = [s.median_ms or 0.0 for s in series]
    bars = bar_ax.barh(positions, medians, color="tab:blue")
    bar_ax.bar_label(bars, labels=[f"{m:.2f}" for m in medians], padding=3)
    bar_ax.set_xlabel("median latency (ms)")
    bar_ax.set_xlim(0, max(medians + [1e-3]) * 1.2)
    bar_ax.grid(axis="x", alpha=0.3)
    bar_ax.invert_yaxis()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
