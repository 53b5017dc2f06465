#!/usr/bin/env bash
# Prints host inference time per shared model: tinydeploy's runtime (Google Benchmark, CPU
# time per invoke) next to TFLite Micro's (Python package, median of 20 invokes).
#   bench/inference_vs_tflm.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
python=${TINYDEPLOY_PYTHON:-$top/.venv/bin/python3}
build=${1:-$top/build/release}
models=("$top"/../shared/models/*.tflite)
declare -A ours
while read -r name time unit; do
  ours[$name]="$time $unit"
done < <("$build/bench/inference_bench" --benchmark_format=csv 2>/dev/null |
         awk -F, 'NR>1 {gsub(/"/,"",$1); printf "%s %.3f %s\n", $1, $4, $5}')
printf '%-40s %18s %18s\n' model tinydeploy_ms tflite_micro_ms
while read -r name tflm rest; do
  printf '%-40s %18s %18s\n' "$name" "${ours[$name]%% *}" "$tflm"
done < <("$python" "$top/bench/tflm_inference.py" "${models[@]}")
