#!/usr/bin/env bash
# Cross-builds the DSP kernel check for the Cortex-M4 (-O2, as the packages' hot kernels) and
# runs it on QEMU mps2-an386; its exit status is the check's (0: every case bit-identical to the
# portable kernel). Usage: run_on_qemu.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_TOOLCHAIN_FILE="$top/toolchains/arm-none-eabi-cortex-m4.cmake" >/dev/null
cmake --build "$build" -j2
timeout 600 qemu-system-arm -M mps2-an386 -display none -monitor none -serial stdio \
  -semihosting-config enable=on,target=native -icount shift=0 \
  -kernel "$build/dsp_kernels_check"
