#!/usr/bin/env bash
# Builds tests/tsan/dispatch_halves.cpp with the CPU dispatch engine and the thread pool behind
# parallel_for under ThreadSanitizer and runs it; fails on any data race it reports or on results
# that depend on the thread count. The whole library is not built this way: only this engine and
# the pool synchronise threads themselves (the other engines hand each scenario to one thread
# through parallel_for).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${GRIDBATCH_TSAN_DIR:-build/tsan}
mkdir -p "$out"
"${CXX:-g++}" -std=c++17 -O1 -g -fsanitize=thread -pthread -Iinclude -Isrc -I/usr/include/eigen3 \
  tests/tsan/dispatch_halves.cpp src/cpu/dispatch_engine_cpu.cpp src/cpu/parallel.cpp \
  src/core/memory.cpp src/io/c_number.cpp \
  src/core/result.cpp src/core/error.cpp -o "$out/dispatch_halves"
# Without address-space randomisation where allowed: ThreadSanitizer's fixed shadow layout can
# clash with it.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then norandom=(setarch "$(uname -m)" -R); fi
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" "${norandom[@]}" "$out/dispatch_halves"
echo "tsan: no data race"
