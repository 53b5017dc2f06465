#!/usr/bin/env bash
# Installs every dependency tinydeploy needs (Debian packages, Python reference packages) and
# builds the release and sanitizer configurations. Safe to run again: it only installs what is
# missing and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake ninja-build clang clang-format libclang-rt-14-dev
  libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  python3 python3-venv chromium
)

missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python reference packages live in a project virtual environment (.venv): Debian's own
# python3 refuses system-wide pip installs (PEP 668), and nothing here should touch the system's.
# Debian's interpreter is preferred, so the environment matches the packages apt installed.
base_python=/usr/bin/python3
[ -x "$base_python" ] || base_python=$(command -v python3)
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -c 'import sys' 2>/dev/null; then
  echo "setup: creating the Python virtual environment .venv ($base_python)"
  rm -rf .venv
  "$base_python" -m venv .venv
fi
echo "setup: installing the Python reference packages into .venv (tools/reference/requirements.txt)"
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check --pre \
  -r tools/reference/requirements.txt

for preset in release asan; do
  echo "setup: building the '$preset' configuration"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
done
echo "setup: done; the tool is build/release/src/tinydeploy"
