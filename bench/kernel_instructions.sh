#!/usr/bin/env bash
# Prints instructions per inference of tinydeploy's generated packages on the emulated boards
# (QEMU 7.2, -icount shift=0: SysTick x 40 on mps2-an386, x 31.25 on mps3-an547; the median of
# `validate --runs 3`), next to TFLite Micro's figures from issue 15 (measured the same way,
# GCC 12.2: the reference kernels on the M4, CMSIS-NN on both cores), and the ratio to
# TFLite Micro + CMSIS-NN (the goal is at most 0.6).
# Run scripts/setup.sh first. Usage: bench/kernel_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${TINYDEPLOY_BIN:-build/release/src/tinydeploy}
models=../shared/models
# model, TFLM reference M4, TFLM+CMSIS-NN M4, TFLM+CMSIS-NN M55 (millions of instructions)
figures=(
  "kws_ref_model 43.0 7.70 1.82"
  "vww_96_int8 100.3 24.1 6.56"
  "pretrainedResnet_quant 107.4 29.9 4.91"
  "ad01_int8 1.95 0.58 0.15"
)
instructions() {  # model target -> millions of instructions per inference
  "$tool" validate "$models/$1.tflite" --target "$2" --runs 3 --quiet |
    sed -n 's/^time per inference: \([0-9]*\) instructions.*/\1/p' |
    awk '{ printf "%.2f", $1 / 1e6 }'
}
printf "%-24s %10s %10s %12s %8s %10s %12s %8s\n" model "ours M4" "TFLM ref" "TFLM+CMSIS" ratio \
  "ours M55" "TFLM+CMSIS" ratio
for line in "${figures[@]}"; do
  read -r model ref_m4 cmsis_m4 cmsis_m55 <<<"$line"
  m4=$(instructions "$model" qemu-m4)
  m55=$(instructions "$model" qemu-m55)
  printf "%-24s %9sM %9sM %11sM %8.2f %9sM %11sM %8.2f\n" "$model" "$m4" "$ref_m4" "$cmsis_m4" \
    "$(echo "$m4 / $cmsis_m4" | bc -l)" "$m55" "$cmsis_m55" "$(echo "$m55 / $cmsis_m55" | bc -l)"
done
