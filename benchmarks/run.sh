#!/usr/bin/env bash
# Runs the benchmark suite and writes benchmarks/RESULTS.md (+ a throughput plot).
#   benchmarks/run.sh quick   # CI: every benchmark runs once, briefly (checks they run)
#   benchmarks/run.sh full    # real numbers: the suite BENCH_RUNS times (default 2), each row
#                             # the best of the runs' medians (a shared VM has slow phases)
# Env: GRIDBATCH_BUILD_DIR (default build/release), BENCH_FILTER (regex), BENCH_OUT (results dir),
#      BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-quick}
build_dir=${GRIDBATCH_BUILD_DIR:-build/release}
out=${BENCH_OUT:-$build_dir/bench-results}
runs=1
case "$profile" in
  # quick: the smallest batch of every benchmark, once — checks that they all run (CI).
  quick) args=(--benchmark_min_time=0.01)
         BENCH_FILTER=${BENCH_FILTER:-'(/1/|/1$|factorise|lodf|steps:3600/scenarios:1/|Contingencies_allcores/case118)'} ;;
  # full: the median of 3 repetitions per row (a shared VM varies run to run).
  full)  args=(--benchmark_min_time=0.5 --benchmark_repetitions=3
               --benchmark_report_aggregates_only=true)
         runs=${BENCH_RUNS:-2} ;;
  *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac
shopt -s nullglob
benches=("$build_dir"/bin/bench_*)
if ((${#benches[@]} == 0)); then
  echo "no benchmark programs in $build_dir/bin" >&2
  exit 1
fi
# The commit measured, recorded in every result file (the report may be written later, elsewhere).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ "$commit" = unknown ] || git diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
mkdir -p "$out"
rm -rf "$out"/run[0-9]*
dirs=()
for ((r = 1; r <= runs; r++)); do
  dir=$out/run$r
  mkdir -p "$dir"
  dirs+=("$dir")
  for b in "${benches[@]}"; do
    name=$(basename "$b")
    echo "== $name ($profile, run $r of $runs)"
    "$b" "${args[@]}" ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} \
         --benchmark_context=gridbatch_commit="$commit" \
         --benchmark_out="$dir/$name.json" --benchmark_out_format=json
  done
  if [ "$profile" = full ]; then
    # The default study, timed, as a Google-Benchmark-shaped record for the report.
    start=$(date +%s%N)
    "$build_dir/bin/gridbatch" study --out "$dir/study" --no-plots > "$dir/study.log" 2>&1
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '{"context": {"gridbatch_commit": "%s"}, "benchmarks": [{"name": "study/default", "run_type": "iteration", "real_time": %s, "time_unit": "ms"}]}\n' \
      "$commit" "$ms" > "$dir/study.json"
  fi
done
if [ "$profile" = full ]; then
  /usr/bin/python3 benchmarks/report.py "${dirs[@]}" benchmarks/RESULTS.md
else
  /usr/bin/python3 benchmarks/report.py "${dirs[@]}" "$out/RESULTS.md"
fi
