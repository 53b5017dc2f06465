#!/usr/bin/env bash
# Prints, per shared model and target, what the generated library costs: the arena (RAM) and
# the flash split into library code (runtime kernels + invoke/API), prepared parameters and
# weights, from `tinydeploy library`'s memory report (symbols of the smallest image that runs
# the model, linked with --gc-sections). TensorFlow Lite Micro's arena for the same model (its
# recording allocator, via tools/reference/tflm_arena.py) is printed alongside for comparison.
# Run scripts/setup.sh first. Usage: bench/library_footprint.sh [MODEL.tflite ...]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${TINYDEPLOY_PYTHON:-.venv/bin/python3}
tool=build/release/src/tinydeploy
models=("$@")
if [ ${#models[@]} -eq 0 ]; then models=(../shared/models/*.tflite); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "%-40s %-10s %10s %10s %12s %10s %10s %10s\n" model target arena tflm_arena library_code \
  parameters weights flash
for model in "${models[@]}"; do
  # Exits 1 with an "error" record for models TFLite Micro cannot load.
  tflm=$( ("$python" tools/reference/tflm_arena.py "$model" || true) |
    "$python" -c 'import json,sys; print(json.loads(sys.stdin.read()).get("total","n/a"))')
  for target in host cortex-m4 cortex-m55; do
    "$tool" library "$model" --target "$target" -o "$work/lib" --quiet >/dev/null
    "$python" - "$work/lib/memory_report.json" "$(basename "$model")" "$target" "$tflm" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["flash"]
print(f"{sys.argv[2]:<40} {sys.argv[3]:<10} {r['ram']['arena']:>10} {sys.argv[4]:>10} "
      f"{f['library_code']:>12} {f['parameters']:>10} {f['weights']:>10} {f['total']:>10}")
PY
  done
done
