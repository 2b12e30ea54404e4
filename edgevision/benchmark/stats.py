"""Latency statistics: percentiles, spread, and a distribution-free confidence interval for p90.

Percentiles use NumPy's linear interpolation between order statistics. The p90 interval comes
from the order statistics themselves: the number of samples below the true 90th percentile is
binomial(n, 0.9), so two ranks chosen from that distribution bracket it with the stated
confidence whatever shape the latency distribution has. No samples are clipped or discarded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PERCENTILES = (50, 90, 95, 99)


def binomial_cdf(n: int, p: float) -> np.ndarray:
    """CDF of binomial(n, p) at 0..n, computed in log space so large n does not underflow."""
    k = np.arange(n + 1, dtype=np.float64)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))))
    log_pmf = log_fact[n] - log_fact - log_fact[::-1] + k * math.log(p) + (n - k) * math.log1p(-p)
    return np.minimum(np.cumsum(np.exp(log_pmf)), 1.0)


def quantile_ci(
    samples: Sequence[float], q: float = 0.9, *, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Order-statistic confidence interval for the ``q`` quantile.

    Returns:
        (low, high) sample values; either is None when there are too few samples to bound
        that side at the requested confidence (e.g. fewer than about 37 samples for the
        upper side of p90 at 95 %).
    """
    values = np.sort(np.asarray(samples, dtype=np.float64))
    n = values.size
    if n == 0:
        return None, None
    alpha = 1.0 - confidence
    cdf = binomial_cdf(n, q)
    # P(X_(j) <= true quantile) = P(B >= j) = 1 - F(j-1) for B ~ binomial(n, q), ranks 1-based.
    # Lowest rank l with F(l-1) <= alpha/2 taken as large as possible; upper rank u smallest
    # with F(u-1) >= 1 - alpha/2.
    low_ranks = np.nonzero(cdf[:n] <= alpha / 2)[0]  # index j-1 → rank j
    high_ranks = np.nonzero(cdf[:n] >= 1 - alpha / 2)[0]
    low = float(values[low_ranks[-1]]) if low_ranks.size else None
    high = float(values[high_ranks[0]]) if high_ranks.size else None
    return low, high


def summarize_latencies(samples_ms: Sequence[float]) -> dict[str, float | int | list | None]:
    """The latency figures every result reports, all in milliseconds.

    Returns:
        ``count``, ``p50``, ``p90``, ``p95``, ``p99``, ``mean``, ``std`` (sample, ddof=1),
        ``min``, ``max`` and ``p90_ci95`` (``[low, high]``, entries None when not bounded).
    """
    values = np.asarray(samples_ms, dtype=np.float64)
    if values.size == 0:
        return {"count": 0}
    quantiles = np.percentile(values, PERCENTILES)
    summary: dict[str, float | int | list | None] = {"count": int(values.size)}
    for name, value in zip(PERCENTILES, quantiles, strict=True):
        summary[f"p{name}"] = round(float(value), 4)
    summary["mean"] = round(float(values.mean()), 4)
    summary["std"] = round(float(values.std(ddof=1)), 4) if values.size > 1 else 0.0
    summary["min"] = round(float(values.min()), 4)
    summary["max"] = round(float(values.max()), 4)
    low, high = quantile_ci(values, 0.9)
    summary["p90_ci95"] = [
        None if low is None else round(low, 4),
        None if high is None else round(high, 4),
    ]
    return summary
