#!/usr/bin/env bash
# Create .venv (if missing) and install edgevision with every extra that works on this machine.
# torch/torchvision are pinned by requirements/constraints.txt. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# pip's "Location ... is ignored" lines are about local package mirrors and are harmless.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -e ".[train,openvino,report,demo,dev]" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import edgevision, torch, onnxruntime, openvino; print('edgevision', edgevision.__version__, 'ready in .venv')"
