#!/usr/bin/env bash
# Prints the wall time of the full `tinydeploy deploy` (inspect, generate, build, validate with 10
# runs, profile with 5 inferences, library, report) of a model on qemu-m4:
#   cold: an empty firmware cache, a new output directory and the compiler cache off, so that
#         every image and the library are compiled from scratch;
#   warm: the same command again into the same directory (the builds are reused).
# Run scripts/setup.sh first. Usage: bench/deploy_time.sh [MODEL.tflite] [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
tool=build/release/src/tinydeploy
model=${1:-../shared/models/kws_ref_model.tflite}
target=${2:-qemu-m4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TINYDEPLOY_CACHE_DIR=$work/cache
export CCACHE_DISABLE=1
run() {
  local start end
  start=$(date +%s.%N)
  "$tool" deploy "$model" --target "$target" -o "$work/out" --quiet >"$work/$1.log"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
cold=$(run cold)
warm=$(run warm)
echo "deploy $(basename "$model") on $target ($(nproc) cores)"
printf "%-6s %8.2f s\n" cold "$cold" warm "$warm"
echo "stages of the cold run:"
grep '^\[' "$work/cold.log" | sed 's/^/  /'
echo "stages of the warm run:"
grep '^\[' "$work/warm.log" | sed 's/^/  /'
