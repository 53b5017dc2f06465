#!/usr/bin/env bash
# Builds the runtime library on its own for a Cortex-M core with arm-none-eabi-gcc, warnings
# as errors. Usage: cross_build.sh m4|m55 BUILD_DIR
set -euo pipefail
core=$1 build=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$build"
cmake -S "$top/runtime" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$top/toolchains/arm-none-eabi-cortex-$core.cmake" >/dev/null
cmake --build "$build"
arm-none-eabi-size -t "$build/libtinydeploy_runtime.a"
