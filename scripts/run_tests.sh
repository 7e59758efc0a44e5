#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test: the GoogleTest suite (CUDA tests
# skip visibly without a device), the install and MPI tests, every benchmark once (quick profile),
# the suite under ASan+UBSan, the dispatch engine's threads under TSan, the fuzzers, pytest with
# the notebooks, and the format check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${GRIDBATCH_BUILD_DIR:-build/release}

echo "== ctest"
(cd "$build_dir" && ctest --output-on-failure -j"$(nproc)" --no-tests=error)

echo "== benchmarks (quick: each runs once)"
GRIDBATCH_BUILD_DIR="$build_dir" bash benchmarks/run.sh quick > "$build_dir/bench-quick.log" 2>&1 ||
  { tail -50 "$build_dir/bench-quick.log"; exit 1; }
grep -c real_time "$build_dir/bench-quick.log" | xargs echo "benchmarks run:"

# Reliability: the CPU suite under ASan+UBSan, the dispatch engine under TSan, then each fuzz
# target for FUZZ_SECONDS (30 s here; scripts/fuzz.sh defaults to 60). GRIDBATCH_SKIP_SANITIZERS=1
# skips them.
if [ "${GRIDBATCH_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== asan"
  bash scripts/asan.sh
  echo "== tsan"
  bash scripts/tsan.sh
  echo "== fuzz"
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
fi

echo "== pytest"
PYTHONPATH="$PWD/$build_dir/python" GRIDBATCH_CLI="$PWD/$build_dir/bin/gridbatch" \
  /usr/bin/python3 -m pytest -q python/tests

echo "== clang-format"
git ls-files '*.hpp' '*.cpp' '*.cu' '*.cuh' | xargs clang-format --dry-run --Werror

echo "== shellcheck"
git ls-files '*.sh' .ci/run | xargs shellcheck -S warning
echo "run_tests: all passed"
