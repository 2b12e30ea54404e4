#!/usr/bin/env bash
# Re-run every committed benchmark, one after another, on a quiet machine (nothing else running:
# each result records the load average it saw). Writes benchmarks/results/*.json; takes about
# 40 minutes on 2 CPU cores. The 10,000-frame soak (live_soak.py, ~7 min) runs only with --soak.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
data=${EDGEVISION_SHARED_DATA:-../shared/data}
work=${WORK:-$(mktemp -d)}

failed=0
step() {
    echo "== $(date +%T) $*"
    "$@" || { echo "!! failed: $*"; failed=1; }
}

step $py benchmarks/bench_vs_benchmark_app.py
step $py benchmarks/live_paced.py
step $py benchmarks/live_throughput.py
step $py benchmarks/train_throughput.py
# The hymenoptera bundle of issue 2: default recipe, then an ONNX Runtime FP32 export.
step .venv/bin/edgevision -q train --data "$data/hymenoptera" --arch mobilenet_v2 \
    --weights "$data/weights/mobilenet_v2_imagenet_from_tflite_bn.safetensors" \
    --mean 0.5 --std 0.5 --epochs 4 --seed 0 --out "$work" --name hymenoptera
step .venv/bin/edgevision -q export --checkpoint "$work/hymenoptera/best.pt" \
    --profile ort-x86-fp32 --out "$work/hymenoptera-bundle" --force
step $py benchmarks/bench_vs_bare_ort.py "$work/hymenoptera-bundle"
step $py benchmarks/export_speed.py
step $py benchmarks/transfer_vs_scratch.py
if [ "${1:-}" = "--soak" ]; then
    step $py benchmarks/live_soak.py
fi
echo "== $(date +%T) done; results in benchmarks/results/"
exit $failed
