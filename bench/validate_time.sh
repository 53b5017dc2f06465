#!/usr/bin/env bash
# Prints the wall time of `tinydeploy validate --runs 10` for the KWS model on each target: the
# first time (the validator firmware is built) and again (the image is reused from the cache).
# Run scripts/setup.sh first. Usage: bench/validate_time.sh [MODEL.tflite]
set -euo pipefail
cd "$(dirname "$0")/.."
tool=build/release/src/tinydeploy
model=${1:-../shared/models/kws_ref_model.tflite}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export TINYDEPLOY_CACHE_DIR=$cache
printf "%-10s %14s %16s\n" target "first build s" "rebuild-free s"
for target in host qemu-m4 qemu-m55; do
  times=()
  for pass in first again; do
    start=$(date +%s.%N)
    "$tool" validate "$model" --target "$target" --runs 10 --quiet >/dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf "%-10s %14.2f %16.2f\n" "$target" "${times[0]}" "${times[1]}"
done
