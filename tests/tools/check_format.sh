#!/usr/bin/env bash
# Fails when a tracked C/C++ source of ours is not clang-formatted (.clang-format at the top).
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t sources < <(git ls-files -- '*.h' '*.c' '*.cc' '*.cpp' 2>/dev/null || true)
if ((${#sources[@]} == 0)); then
  mapfile -t sources < <(find src runtime tests bench fuzz boards firmware -name '*.h' -o -name '*.c' -o -name '*.cc' | sort)
fi
clang-format --dry-run --Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files formatted"
