#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages calibrisk's C++ side needs, only those missing (idempotent; one
# apt-get update at most). Runs as root, or with sudo when available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config python3-venv python3-dev
  libeigen3-dev libboost-math-dev doctest-dev libbenchmark-dev nlohmann-json3-dev
  libcli11-dev liblbfgspp-dev libcpp-httplib-dev libcsv-dev libsodium-dev
  clang-14 libclang-rt-14-dev clang-format-14
  chromium
)
# chromium renders the HTML report in tests (layout and script-injection checks); those tests fail
# under CI=true when it is missing, so it is required, not optional.

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages ${missing[*]}; run as root." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
