#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (Debian packages only) and builds gridbatch in
# Release under build/release. CUDA is built when nvcc is found (/usr/local/cuda or PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake libeigen3-dev libsuitesparse-dev libgtest-dev libbenchmark-dev
          pybind11-dev python3-dev python3-numpy python3-matplotlib python3-nbclient
          python3-ipykernel python3-pytest clang clang-format libopenmpi-dev openmpi-bin python3-mpi4py
          clang-14 libclang-rt-14-dev  # clang-14 + its runtimes: scripts/fuzz.sh (libFuzzer)
          shellcheck
          locales)  # locale sources: a test reads case files under de_DE (built by localedef)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir=${GRIDBATCH_BUILD_DIR:-build/release}
# Warnings as errors only where GRIDBATCH_CMAKE_ARGS asks (CI does), also in a build directory
# a CI run configured before: the cache would keep it.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DGRIDBATCH_CUDA="${GRIDBATCH_CUDA:-AUTO}" \
      -DGRIDBATCH_WARNINGS_AS_ERRORS=OFF ${GRIDBATCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
