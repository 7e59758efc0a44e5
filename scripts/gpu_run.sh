#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU: runs the CUDA tests with GRIDBATCH_REQUIRE_CUDA=1
# (a missing device fails instead of skipping), the GPU benchmarks, then compute-sanitizer
# memcheck and racecheck over the CUDA tests; everything goes to a results file stamped with the
# date, commit and device, under $OUT when set (the lent GPU machine's output folder), else
# benchmarks/.
#
#   scripts/gpu_run.sh [all|build|test|bench|sanitize]...     (default: all, in that order)
#
# The programs: the build that scripts/gpu_prepare.sh staged on a machine without a GPU
# (build/gpu-run, carried along: programs, library and the libraries they need), else a build
# made here in build/cuda-release (also when the stage `build` is named). Made for a lent
# machine's few minutes: every stage runs under `timeout`, within one budget
# (GRIDBATCH_GPU_BUDGET_S, default 540 s: a 600 s command with room to write the results); the
# benchmarks come before the sanitizers, and by default only the rows the issues' targets need.
# Each test runs in a process of its own (a kernel fault ends its CUDA context, not the run).
# The tests and benchmarks need the MATPOWER cases: GRIDBATCH_SHARED_DIR, else shared/ inside the
# checkout (it travels to the lent machine; ../shared does not; git ignores it; gpu_prepare.sh
# copies ../shared/cases and ../shared/refs there), else ../shared. Without them the run stops at
# once instead of skipping every case-based test.
#
# Environment: GRIDBATCH_CUDA_ARCHS (default 90: H100/H200), GRIDBATCH_GPU_BUILD_DIR (default
# build/cuda-release), GRIDBATCH_BENCH_FILTER (Google Benchmark regex for every benchmark program;
# default: the target rows; '.' for everything).
# Debian packages a build here needs and the GPU image lacks (Eigen, GoogleTest, Google
# Benchmark, SuiteSparse) may be carried in .debs/ (gpu_prepare.sh downloads them); they are
# unpacked under /tmp/gridbatch-deps, never into /.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

stages=("$@")
((${#stages[@]})) || stages=(all)
want() { [[ " ${stages[*]} " == *" all "* || " ${stages[*]} " == *" $1 "* ]]; }

budget=${GRIDBATCH_GPU_BUDGET_S:-540}
if [ -z "${GRIDBATCH_SHARED_DIR:-}" ]; then
  if [ -d shared/cases ]; then GRIDBATCH_SHARED_DIR=$PWD/shared; else GRIDBATCH_SHARED_DIR=$PWD/../shared; fi
fi
export GRIDBATCH_SHARED_DIR
if [ ! -d "$GRIDBATCH_SHARED_DIR/cases" ] || [ ! -d "$GRIDBATCH_SHARED_DIR/refs" ]; then
  echo "gpu_run: no MATPOWER cases and refs under $GRIDBATCH_SHARED_DIR; copy ../shared/cases and" \
    "../shared/refs into shared/ (git ignores it) or set GRIDBATCH_SHARED_DIR" >&2
  exit 3
fi

out_dir=${OUT:-benchmarks}
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
results="$out_dir/gpu_results_$stamp.md"
staged=build/gpu-run
# A staged build is used only if it was built from these sources (gpu_prepare.sh's fingerprint).
build='' stale=''
if [ -f "$staged/prebuilt-for-gpu" ] && [[ " ${stages[*]} " != *" build "* ]]; then
  if [ "$(bash scripts/gpu_prepare.sh --fingerprint)" = "$(sed -n 2p "$staged/prebuilt-for-gpu")" ]
  then
    build=$PWD/$staged
  else
    stale="the staged build in $staged is not of these sources; building here instead"
  fi
fi
if [ -z "$build" ]; then
  build=${GRIDBATCH_GPU_BUILD_DIR:-build/cuda-release}
  [[ $build = /* ]] || build=$PWD/$build
  # The Debian packages a build here needs and the image may lack.
  if [ -d .debs ] && compgen -G ".debs/*.deb" >/dev/null; then
    deps=/tmp/gridbatch-deps
    mkdir -p "$deps"
    for f in .debs/*.deb; do dpkg -x "$f" "$deps"; done
    export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
  fi
else
  export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export GRIDBATCH_CLI=${GRIDBATCH_CLI:-$build/bin/gridbatch}
archs=${GRIDBATCH_CUDA_ARCHS:-90}
jobs=$(nproc)
failed=()

export PATH="/usr/local/cuda/bin:$PATH"
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda/lib64"

# Runs a stage under `timeout` (at most LIMIT seconds, and never past the budget): its output
# goes to the terminal and, fenced, to the results file.
#   stage NAME LIMIT COMMAND...
stage() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - SECONDS))
  ((limit > left)) && limit=$left
  if ((limit < 10)); then
    echo "== $name: skipped, the budget is spent" | tee -a "$results"
    failed+=("$name (no time)")
    return 0
  fi
  echo "== $name (at most ${limit} s): $*"
  {
    echo
    echo "## $name"
    echo '```'
    echo "\$ $*"
  } >>"$results"
  timeout "$limit" "$@" 2>&1 | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  {
    echo '```'
    if ((rc == 124)); then echo "timed out after ${limit} s"; else echo "exit status: $rc"; fi
  } >>"$results"
  ((rc == 0)) || failed+=("$name")
  return 0
}

{
  echo "# gridbatch GPU run"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- commit: $commit"
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
  echo "- nvcc: $(nvcc --version 2>&1 | tail -1)"
  [ -z "$stale" ] || echo "- $stale"
  if [ "$build" = "$PWD/$staged" ]; then
    echo "- build: $staged, staged by scripts/gpu_prepare.sh: $(head -1 "$staged/prebuilt-for-gpu")"
    missing=$(ldd "$build/tests/gridbatch_tests" "$build"/bin/* | grep 'not found' | sort -u)
    [ -z "$missing" ] || echo "- libraries not found (run \`scripts/gpu_run.sh build all\`): $missing"
  else
    echo "- CUDA architectures: $archs; build: $build"
  fi
} >"$results"

# Runs every test of a GoogleTest filter in a process of its own, 8 at a time, each under a time
# limit and with a missing device an error; prints the failures' output and a count.
#   run_each_test BINARY FILTER
run_each_test() {
  set -o pipefail  # `timeout` runs this in a shell of its own
  local bin=$1 filter=$2 dir
  dir=$(mktemp -d)
  "$bin" --gtest_list_tests --gtest_filter="$filter" |
    awk '/^[^ ]/ {suite = $1} /^  / {print suite $1}' >"$dir/names" ||
    { echo "could not list the tests of $bin"; return 1; }
  local n
  n=$(wc -l <"$dir/names")
  ((n > 0)) || { echo "no tests match $filter"; return 1; }
  # A test passes when its process says so for exactly one test (a name the filter reads
  # otherwise would run none and exit 0).
  seq 1 "$n" | xargs -P 8 -I{} bash -c 'name=$(sed -n "$1p" "$2/names")
    GRIDBATCH_REQUIRE_CUDA=1 timeout 100 "$3" --gtest_filter="$name" >"$2/$1.log" 2>&1 &&
      grep -q "^\[  PASSED  \] 1 test\.$" "$2/$1.log" || echo "$name" >>"$2/failed"' _ {} \
    "$dir" "$bin"
  local n_failed=0
  if [ -f "$dir/failed" ]; then
    n_failed=$(wc -l <"$dir/failed")
    local shown=0
    for i in $(seq 1 "$n"); do  # the first ten failures' output, in the listed order
      ((shown < 10)) && grep -qxF "$(sed -n "${i}p" "$dir/names")" "$dir/failed" &&
        tail -40 "$dir/$i.log" && shown=$((shown + 1))
    done
    echo "failed:"
    sed 's/^/  /' "$dir/failed"
  fi
  echo "$((n - n_failed)) of $n tests passed"
  ((n_failed == 0))
}
export -f run_each_test  # for `timeout`, which runs programs, not shell functions

# gtest filter of everything that touches the device or the CUDA engines' logic.
cuda_tests='*/cuda:Cuda*:*.Cuda*:DeviceBuffer*:LuSchedule*:*NewtonSteps*:*NewtonOutages*:ChunkOutages*:*NewtonLayout*:IpmCore*:*FastDecoupledSteps*'
# memcheck: the same without the every-case comparisons with MATPOWER (up to 13,659 buses, minutes
# under the sanitizer) and the sparse DC steps over two million scenarios (their kernels run in
# SparseSolveWhereTheInverseDoesNotFit); racecheck: the tests of the kernels that share memory
# between threads.
memcheck_filter='*/cuda:Cuda*:*.Cuda*:DeviceBuffer*:*NewtonSteps*-*Matpower*:*EveryCase*:CudaDcEngine.SparseSolveSteps*'
racecheck_filter='CudaAcEngine.*:CudaDcEngine.SparseSolveWhere*:*DcPowerFlowTest.BatchColumns*/cuda:*DispatchTest*/cuda:*SensitivityTest.N1*/cuda'

if [ "$build" != "$PWD/$staged" ] && { want build || [ ! -x "$build/tests/gridbatch_tests" ]; }
then
  generator=()
  command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && generator=(-G Ninja)
  stage configure 120 cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DGRIDBATCH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$archs" -DGRIDBATCH_BUILD_PYTHON=OFF \
    -DGRIDBATCH_BUILD_EXAMPLES=OFF
  stage build 300 cmake --build "$build" -j"$jobs" --target gridbatch_tests gridbatch_cli \
    bench_dc_cuda bench_ac_cuda bench_dispatch_cuda bench_dc bench_smooth_dispatch
fi

if want test; then
  # The CPU tests are CI's; here only what touches the device.
  stage cuda-tests 180 bash -c 'run_each_test "$@"' run_each_test "$build/tests/gridbatch_tests" \
    "$cuda_tests"
fi

if want bench; then
  device_rows='DeviceCopy|DcResident(Sparse)?/case9241pegase/(1000|10000)/|AcNewtonEngine/case(118|9241pegase)/(1000|10000)/|AcFdxbEngine/case9241pegase/1000/|AcContingenciesDevice/|Device/(1|1000|10000)/86400'
  api_rows='^batch/case9241pegase/10000|^n1/case2383wp/1000/|scenarios:1000/'
  for b in bench_dc_cuda bench_ac_cuda bench_dispatch_cuda; do
    stage "$b" 120 "$build/bin/$b" --benchmark_filter="${GRIDBATCH_BENCH_FILTER:-$device_rows}" \
      --benchmark_context=gridbatch_commit="$commit" \
      --benchmark_out="$out_dir/${b}_$stamp.json" --benchmark_out_format=json
  done
  # The public API end to end on the GPU (transfers and post-processing included); the AC
  # engine's rows are bench_ac_cuda's (bench_ac times the CPU engine only).
  for b in bench_dc bench_smooth_dispatch; do
    stage "$b (cuda)" 120 env GRIDBATCH_BENCH_BACKEND=cuda "$build/bin/$b" \
      --benchmark_filter="${GRIDBATCH_BENCH_FILTER:-$api_rows}" \
      --benchmark_context=gridbatch_commit="$commit" \
      --benchmark_out="$out_dir/${b}_api_cuda_$stamp.json" --benchmark_out_format=json
  done
fi

if want sanitize; then
  if command -v compute-sanitizer >/dev/null; then
    # GRIDBATCH_REQUIRE_CUDA: a device the sanitizer cannot open fails instead of skipping.
    stage memcheck 300 env GRIDBATCH_REQUIRE_CUDA=1 compute-sanitizer --tool memcheck \
      --error-exitcode 1 "$build/tests/gridbatch_tests" --gtest_filter="$memcheck_filter"
    stage racecheck 300 env GRIDBATCH_REQUIRE_CUDA=1 compute-sanitizer --tool racecheck \
      --error-exitcode 1 "$build/tests/gridbatch_tests" --gtest_filter="$racecheck_filter"
  else
    echo "compute-sanitizer not found" | tee -a "$results"
    failed+=(sanitize)
  fi
fi

{
  echo
  if ((${#failed[@]})); then echo "FAILED stages: ${failed[*]}"; else echo "all stages passed"; fi
} | tee -a "$results"
echo "results: $results"
((${#failed[@]} == 0))
