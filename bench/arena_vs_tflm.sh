#!/usr/bin/env bash
# Prints, per shared model, tinydeploy's planned arena next to TensorFlow Lite Micro's arena
# (total, and the planned-tensor part alone). Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${TINYDEPLOY_PYTHON:-.venv/bin/python3}
tool=build/release/src/tinydeploy
printf "%-42s %12s %12s %12s %12s\n" model tinydeploy lower_bound tflm_total tflm_tensors
for model in ../shared/models/*.tflite; do
  read -r arena bound < <("$tool" inspect --json "$model" |
    "$python" -c 'import json,sys; m=json.load(sys.stdin)["memory"]; print(m["arena_bytes"]+m["variable_arena_bytes"], m["lower_bound_bytes"])')
  read -r total head < <("$python" tools/reference/tflm_arena.py "$model" |
    "$python" -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r.get("total","n/a"), r.get("head","n/a"))')
  printf "%-42s %12s %12s %12s %12s\n" "$(basename "$model")" "$arena" "$bound" "$total" "$head"
done
