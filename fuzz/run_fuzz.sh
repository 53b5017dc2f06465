#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time on a fresh copy of the seed files.
# Usage: run_fuzz.sh FUZZER CORPUS_DIR SECONDS SEED... [-- LIBFUZZER_OPTION...]
# A SEED may be a file or a directory (its files are copied, except *.json and *.md).
# Findings (crash-*, leak-*, timeout-*, oom-*) are written next to CORPUS_DIR.
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
shift 3
seeds=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  seeds+=("$1")
  shift
done
[[ $# -gt 0 ]] && shift
rm -rf "$corpus"
mkdir -p "$corpus"
for seed in "${seeds[@]}"; do
  if [[ -d $seed ]]; then
    find "$seed" -maxdepth 1 -type f ! -name '*.json' ! -name '*.md' -exec cp {} "$corpus/" \;
  else
    cp "$seed" "$corpus/"
  fi
done
# Room for mutations that grow the largest seed (a repacked model, a longer line).
largest=$(find "$corpus" -type f -printf '%s\n' | sort -n | tail -1)
max_len=$(( ${largest:-0} * 2 > 4096 ? ${largest:-0} * 2 : 4096 ))
# Where the model mutator keeps the model it is repairing (see fuzz/model_mutator.h).
export TINYDEPLOY_FUZZ_MUTATOR_DUMP="$(dirname "$corpus")/mutator-input.tflite"
exec "$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$(dirname "$corpus")/" -max_len="$max_len" -print_final_stats=1 "$@"
