#!/usr/bin/env bash
# Runs the whole test suite: the release build's tests, then every test again under
# AddressSanitizer + UndefinedBehaviorSanitizer, including the bounded reader fuzz run.
# Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
for preset in release asan; do
  echo "== tests: $preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j "$jobs"
done
