"""Device benchmarks: scenarios, statistics, host conditions, result files, plots and reports.

Never imports torch: it runs on the device with only the light install (matplotlib is needed
for plots and reports only).
"""

from edgevision.benchmark.interleave import Candidate, Plan, measure, run_record
from edgevision.benchmark.results import SCHEMA_VERSION, load_result, new_result
from edgevision.benchmark.scenarios import SCENARIOS, Samples
from edgevision.benchmark.stats import quantile_ci, summarize_latencies
from edgevision.benchmark.timing import RunPolicy

__all__ = [
    "SCENARIOS",
    "SCHEMA_VERSION",
    "Candidate",
    "Plan",
    "RunPolicy",
    "Samples",
    "load_result",
    "measure",
    "new_result",
    "quantile_ci",
    "run_record",
    "summarize_latencies",
]
