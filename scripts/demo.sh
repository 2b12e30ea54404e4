#!/usr/bin/env bash
# Set up the environment (scripts/setup.sh) and run the whole path offline on the handwritten
# digits that ship with scikit-learn: train → export → live (headless, recorded) → bench.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/digits_demo.py "${1:-demo-output}"
