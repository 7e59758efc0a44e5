#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined) in
# build/fuzz, replays the committed regression inputs (tests/fuzz/regressions/<target>/), then
# fuzzes each target for a bounded time from a seed corpus sliced out of ../shared/cases.
# Fails on any crash, leak, timeout, out-of-memory or sanitizer report; the input that triggered
# it is left in build/fuzz/findings/<target>/ (copy it to tests/fuzz/regressions/<target>/ once
# fixed, so it is replayed from then on).
# Env: FUZZ_SECONDS (per target, default 60), FUZZ_TARGETS (default: all), CXX_FUZZ (clang++),
#      GRIDBATCH_FUZZ_DIR (build dir), JOBS (build jobs, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${GRIDBATCH_FUZZ_DIR:-build/fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
python=$(command -v /usr/bin/python3 || command -v python3)

cmake -S tests/fuzz -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')}
# shellcheck disable=SC2086
cmake --build "$build_dir" -j"$jobs" --target $targets

# Seeds: slices of the shared MATPOWER cases when they are there, else the built-in 3-bus case.
corpus=$build_dir/seeds
rm -rf "$corpus"
if [ -d ../shared/cases ]; then
  "$python" tests/fuzz/make_corpus.py ../shared/cases "$corpus"
else
  echo "fuzz: ../shared/cases not found; seeding from tests/fuzz/regressions only"
  mkdir -p "$corpus"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
  kind=${t#fuzz_}
  kind=${kind%%_*}  # fuzz_csv_load_scale -> csv
  seeds=$corpus/$kind
  regressions=tests/fuzz/regressions/$t
  findings=$build_dir/findings/$t
  work=$build_dir/corpus/$t  # grows across runs in one build dir; starts from the seeds
  mkdir -p "$seeds" "$findings" "$work"
  dict=(); [ -f "tests/fuzz/$kind.dict" ] && dict=(-dict="tests/fuzz/$kind.dict")

  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "== $t: replaying $(ls "$regressions" | wc -l) regression inputs"
    "$build_dir/$t" -runs=0 "${dict[@]}" "$regressions"/* >"$build_dir/$t.replay.log" 2>&1 ||
      { tail -40 "$build_dir/$t.replay.log"; echo "fuzz: $t fails on a regression input"; status=1; continue; }
  fi

  echo "== $t: fuzzing for ${seconds}s"
  start=$(date +%s)
  corpora=("$work" "$seeds"); [ -d "$regressions" ] && corpora+=("$regressions")
  if ! "$build_dir/$t" "${corpora[@]}" "${dict[@]}" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$findings/" -print_final_stats=1 >"$build_dir/$t.log" 2>&1; then
    tail -60 "$build_dir/$t.log"
    echo "fuzz: $t FAILED; reproducer(s): $(ls "$findings")"
    status=1
    continue
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build_dir/$t.log" | tr '\n' ' '
  echo "(${t}: $(($(date +%s) - start))s, corpus $(ls "$work" | wc -l) files)"
done
((status == 0)) && echo "fuzz: no crash, leak or sanitizer report in ${targets//$'\n'/ }"
exit "$status"
