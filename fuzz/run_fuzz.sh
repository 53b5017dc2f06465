#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time on a fresh copy of the seed files.
# Usage: run_fuzz.sh FUZZER CORPUS_DIR SECONDS SEED...
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
shift 3
rm -rf "$corpus"
mkdir -p "$corpus"
cp "$@" "$corpus/"
exec "$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$(dirname "$corpus")/" \
  -max_len=131072 -print_final_stats=1
