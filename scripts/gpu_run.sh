#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU: builds build/cuda-release (if needed), runs the
# CUDA tests with GRIDBATCH_REQUIRE_CUDA=1 (a missing device fails instead of skipping),
# compute-sanitizer memcheck and racecheck over them, and the GPU benchmarks; everything goes to a
# results file stamped with the date, commit and device, under $OUT when set (the lent GPU
# machine's output folder), else benchmarks/.
#
#   scripts/gpu_run.sh [all|build|test|sanitize|bench]...     (default: all)
#
# Environment: GRIDBATCH_CUDA_ARCHS (default 90: H100/H200), GRIDBATCH_GPU_BUILD_DIR (default
# build/cuda-release), GRIDBATCH_BENCH_FILTER (Google Benchmark regex, default: everything).
# Debian packages the GPU image lacks (Eigen, GoogleTest, Google Benchmark, SuiteSparse) may be
# carried in .debs/ (`apt-get download ...` on a machine with a registry); they are unpacked under
# /tmp/gridbatch-deps, never into /.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

stages=("$@")
((${#stages[@]})) || stages=(all)
want() { [[ " ${stages[*]} " == *" all "* || " ${stages[*]} " == *" $1 "* ]]; }

out_dir=${OUT:-benchmarks}
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$out_dir/gpu_results_$stamp.md"
build=${GRIDBATCH_GPU_BUILD_DIR:-build/cuda-release}
archs=${GRIDBATCH_CUDA_ARCHS:-90}
jobs=$(nproc)
failed=()

if [ -d .debs ] && compgen -G ".debs/*.deb" >/dev/null; then
  deps=/tmp/gridbatch-deps
  mkdir -p "$deps"
  for f in .debs/*.deb; do dpkg -x "$f" "$deps"; done
  export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
fi
export PATH="/usr/local/cuda/bin:$PATH"

# Runs a stage: its output goes to the terminal and, fenced, to the results file.
stage() {
  local name=$1
  shift
  echo "== $name: $*"
  {
    echo
    echo "## $name"
    echo '```'
    echo "\$ $*"
  } >>"$results"
  "$@" 2>&1 | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  {
    echo '```'
    echo "exit status: $rc"
  } >>"$results"
  ((rc == 0)) || failed+=("$name")
  return 0
}

{
  echo "# gridbatch GPU run"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
  echo "- nvcc: $(nvcc --version 2>&1 | tail -1)"
  echo "- CUDA architectures: $archs; build: $build"
} >"$results"

# gtest names of everything that touches the device or the CUDA engines' logic.
cuda_tests='/cuda|^Cuda|\.Cuda|^DeviceBuffer|^LuSchedule|NewtonSteps|NewtonLayout|^IpmCore'
cuda_filter='*/cuda:Cuda*:*.Cuda*:DeviceBuffer*:*NewtonSteps*'

if want build || [ ! -x "$build/tests/gridbatch_tests" ]; then
  generator=()
  command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && generator=(-G Ninja)
  stage configure cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGRIDBATCH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$archs" -DGRIDBATCH_BUILD_PYTHON=OFF \
    -DGRIDBATCH_BUILD_EXAMPLES=OFF
  stage build cmake --build "$build" -j"$jobs" --target gridbatch_tests gridbatch_cli \
    bench_dc_cuda bench_ac_cuda bench_dispatch_cuda bench_dc bench_ac bench_smooth_dispatch
fi

if want test; then
  stage cuda-tests env GRIDBATCH_REQUIRE_CUDA=1 ctest --test-dir "$build" -R "$cuda_tests" \
    -j4 --output-on-failure --no-tests=error
  stage all-tests env GRIDBATCH_REQUIRE_CUDA=1 ctest --test-dir "$build" -j"$jobs" \
    --output-on-failure --no-tests=error
fi

if want sanitize; then
  if command -v compute-sanitizer >/dev/null; then
    stage memcheck compute-sanitizer --tool memcheck --error-exitcode 1 \
      "$build/tests/gridbatch_tests" --gtest_filter="$cuda_filter"
    stage racecheck compute-sanitizer --tool racecheck --error-exitcode 1 \
      "$build/tests/gridbatch_tests" --gtest_filter='CudaAcEngine*:*DcPowerFlowTest*/cuda'
  else
    echo "compute-sanitizer not found" | tee -a "$results"
    failed+=(sanitize)
  fi
fi

if want bench; then
  filter=${GRIDBATCH_BENCH_FILTER:-.}
  for b in bench_dc_cuda bench_ac_cuda bench_dispatch_cuda; do
    stage "$b" "$build/bin/$b" --benchmark_filter="$filter" \
      --benchmark_out="$out_dir/${b}_$stamp.json" --benchmark_out_format=json
  done
  # The public API end to end on the GPU (transfers and post-processing included).
  for b in bench_dc bench_ac bench_smooth_dispatch; do
    stage "$b (cuda)" env GRIDBATCH_BENCH_BACKEND=cuda "$build/bin/$b" \
      --benchmark_filter="$filter" --benchmark_out="$out_dir/${b}_cuda_$stamp.json" \
      --benchmark_out_format=json
  done
fi

{
  echo
  if ((${#failed[@]})); then echo "FAILED stages: ${failed[*]}"; else echo "all stages passed"; fi
} | tee -a "$results"
echo "results: $results"
((${#failed[@]} == 0))
