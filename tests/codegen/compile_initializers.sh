#!/usr/bin/env bash
# Compiles the output of print_every_struct warning-free for the host and for Cortex-M4F.
set -euo pipefail
printer=$1 runtime_include=$2 work=$3
mkdir -p "$work"
"$printer" > "$work/every_struct.cc"
flags=(-std=c++17 -Wall -Wextra -Wpedantic -Wconversion -Wmissing-field-initializers -Werror
       -I"$runtime_include" -c "$work/every_struct.cc")
c++ "${flags[@]}" -o "$work/host.o"
arm-none-eabi-g++ -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -fno-exceptions -fno-rtti \
  "${flags[@]}" -o "$work/cortex-m4.o"
echo "initializers compile for host and Cortex-M4F"
