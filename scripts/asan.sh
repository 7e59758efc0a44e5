#!/usr/bin/env bash
# Builds the CPU library, tests and command line with AddressSanitizer + UndefinedBehaviorSanitizer
# in build/asan and runs the whole CPU test suite under them. Any sanitizer report aborts the test
# that triggered it (-fno-sanitize-recover=all), so a clean run means no report.
# Env: GRIDBATCH_ASAN_DIR (build dir), JOBS (parallel build jobs, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${GRIDBATCH_ASAN_DIR:-build/asan}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRIDBATCH_CUDA=OFF \
      -DGRIDBATCH_SANITIZE=address,undefined -DGRIDBATCH_BUILD_BENCHMARKS=OFF \
      -DGRIDBATCH_BUILD_PYTHON=OFF -DGRIDBATCH_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build_dir" -j"$jobs"  # the library, the CLI and every test program

# detect_leaks: LeakSanitizer is part of ASan on Linux; halt_on_error makes reports fatal.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The install test builds an uninstrumented consumer against the instrumented library; it is
# covered by the Release ctest run instead. The MPI test runs on its own below.
(cd "$build_dir" && ctest --output-on-failure -j"$jobs" --no-tests=error \
   -E '^(install_and_consume|mpi_.*)$')
# Open MPI does not free its own allocations at MPI_Finalize (LeakSanitizer reports them from
# its dlopen'ed components, with unusable stacks), so the MPI tests run without leak detection;
# ASan's checks of every access stay on.
if (cd "$build_dir" && ctest -N -R '^mpi_' | grep -q 'Total Tests: [1-9]'); then
  (cd "$build_dir" && ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" \
     ctest --output-on-failure -R '^mpi_')
fi
echo "asan: all tests passed under AddressSanitizer + UndefinedBehaviorSanitizer"
