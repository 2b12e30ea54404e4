#!/usr/bin/env bash
# Set up the environment (scripts/setup.sh), the system packages the display tests use, and run
# the whole test suite. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
.venv/bin/ruff check edgevision tests benchmarks examples
.venv/bin/python -m pytest "$@"
