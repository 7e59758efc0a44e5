#!/usr/bin/env bash
# Strong and weak scaling of `gridbatch pf --ac` over MPI ranks on this machine (one CPU thread
# per rank, so ranks are the only parallelism), written to benchmarks/MPI_SCALING.md.
#   benchmarks/mpi_scaling.sh [CASE] [SCENARIOS_PER_RANK]      (defaults: builtin, 2000)
# Env: GRIDBATCH_BUILD_DIR (default build/release), RANKS (default: 1 2 4 ... up to the cores).
# Strong: RANKS x the same total batch (SCENARIOS_PER_RANK x the largest rank count); weak:
# SCENARIOS_PER_RANK per rank. Two times, each the best of 2 runs: the solve as the command
# reports it (sharded solve and gather to rank 0) and the whole command (also reading the case
# on every rank and writing the CSVs on rank 0, which is serial).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${GRIDBATCH_BUILD_DIR:-build/release}
cli="$PWD/$build_dir/bin/gridbatch"
case_name=${1:-builtin}
per_rank=${2:-2000}
cores=$(nproc)
if [ -z "${RANKS:-}" ]; then
  RANKS=""
  for ((r = 1; r <= cores; r *= 2)); do RANKS="$RANKS $r"; done
fi
max_ranks=$(echo $RANKS | tr ' ' '\n' | sort -n | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

scale_file() {  # $1 scenarios -> a --load-scale file of factors 0.8 .. 1.2
  /usr/bin/python3 -c "import numpy as np; np.savetxt('$work/scale_$1.csv', np.linspace(0.8, 1.2, $1), header='scale', comments='')"
  echo "$work/scale_$1.csv"
}

run() {  # $1 ranks, $2 scenarios -> "solve_seconds wall_seconds", each the best of 2 runs
  local scale best_solve="" best_wall=""
  scale=$(scale_file "$2")
  for _ in 1 2; do
    local start end log solve
    start=$(date +%s.%N)
    log=$(mpirun -np "$1" --oversubscribe "$cli" pf "$case_name" --ac --load-scale "$scale" \
      --backend cpu --threads 1 --out "$work/out")
    end=$(date +%s.%N)
    solve=$(echo "$log" | sed -n 's/.*solved in \([0-9.e+-]*\) s.*/\1/p')
    best_solve=$(/usr/bin/python3 -c "b = '$best_solve'; print(min($solve, float(b)) if b else $solve)")
    best_wall=$(/usr/bin/python3 -c "t = $end - $start; b = '$best_wall'; print(min(t, float(b)) if b else t)")
  done
  echo "$best_solve $best_wall"
}

total=$((per_rank * max_ranks))
{
  echo "# MPI scaling of \`gridbatch pf $case_name --ac\` (CPU, one thread per rank)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(lscpu | sed -n 's/^Model name: *//p' | head -1), $cores cores;"
  echo "Open MPI $(mpirun --version | head -1 | awk '{print $NF}'). Best of 2 runs each."
  echo "Regenerate: \`bash benchmarks/mpi_scaling.sh $case_name $per_rank\`."
  echo
  echo "| ranks | strong: $total scenarios, solve (s) | speed-up | whole command (s) | weak: $per_rank per rank, solve (s) | efficiency | whole command (s) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  strong1="" weak1=""
  for r in $RANKS; do
    read -r s sw <<< "$(run "$r" "$total")"
    read -r w ww <<< "$(run "$r" $((per_rank * r)))"
    strong1=${strong1:-$s}
    weak1=${weak1:-$w}
    /usr/bin/python3 -c "print(f'| $r | {$s:.2f} | {$strong1 / $s:.2f} | {$sw:.2f} | {$w:.2f} | {$weak1 / $w:.2f} | {$ww:.2f} |')"
    echo "ranks $r done" >&2
  done
} > benchmarks/MPI_SCALING.md
cat benchmarks/MPI_SCALING.md
