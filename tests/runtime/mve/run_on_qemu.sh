#!/usr/bin/env bash
# Cross-builds the MVE FULLY_CONNECTED bench for the Cortex-M55 (-O2, as the issue's figures)
# and runs it on QEMU mps3-an547 with -icount shift=0; its exit status is the bench's (0: every
# case bit-identical to the portable kernel). Usage: run_on_qemu.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_TOOLCHAIN_FILE="$top/toolchains/arm-none-eabi-cortex-m55.cmake" >/dev/null
cmake --build "$build" -j2
timeout 600 qemu-system-arm -M mps3-an547 -display none -monitor none -serial stdio \
  -semihosting-config enable=on,target=native -icount shift=0 \
  -kernel "$build/fully_connected_s8_mve_bench"
